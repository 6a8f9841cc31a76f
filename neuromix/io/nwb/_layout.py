"""Names neuromix gives to what it writes into NWB files, shared by reading and writing."""

#: Name of the processing module that holds the latents.
MODULE_NAME = "neuromix"

# Table columns neuromix writes itself: the unit names (non-integer unit ids) and
# non-integer trial ids, which NWB table ids (integers) cannot hold.
UNIT_NAME = "unit_name"
TRIAL_ID = "trial_id"
