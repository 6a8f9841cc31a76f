"""The PolyMNIST image side and split names, shared by the generator and the file reader."""

__all__: list[str] = []

#: Side of every PolyMNIST image, and of the patches cut from a background.
_SIZE = 28
#: The splits, and the code each one gives the random streams of the generator.
_SPLIT_CODES = {"train": 0, "test": 1}
