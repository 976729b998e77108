"""What a usable head T1 looks like, in numbers (checked before any data is read)."""

#: smallest and largest accepted voxel edge, mm
MIN_VOXEL_MM = 0.3
MAX_VOXEL_MM = 3.0
#: field of view along every axis must hold a head, mm
MIN_FOV_MM = 120.0
MAX_FOV_MM = 600.0
#: largest distance between where a header's sform and its qform put a corner of the field
#: of view, mm, when both are set (the orientation benchmark's own tolerance)
MAX_SFORM_QFORM_DISAGREEMENT_MM = 0.5
#: largest accepted voxel count: 2**28 voxels = 1 GiB as float32 (a 0.4 mm 640^3 head)
MAX_VOXELS = 2**28
#: voxels of a NIfTI data block read at a time: what reading holds besides the float32
#: volume is one slab in the file's own type (float64: 512 MiB), not the whole block
SLAB_VOXELS = 2**26
#: largest accepted NIfTI header extension block (bytes between header and vox_offset);
#: real extensions (AFNI, DICOM, JSON sidecars) are kB to a few MB
MAX_HEADER_EXTENSION_BYTES = 16 * 2**20
#: how far past the declared data block a .nii.gz stream is decompressed to check its end;
#: writers put nothing there, so this bounds the work a gzip bomb appended to an image causes
MAX_TRAILING_BYTES = 16 * 2**20
#: DICOM archives: largest total uncompressed size and member count
MAX_ARCHIVE_BYTES = 4 * 2**30
MAX_ARCHIVE_MEMBERS = 20_000
#: largest single file in a DICOM archive: a whole volume at the voxel limit in 16 bits
#: (a multi-frame instance) and its header. De-identification holds one file in memory
#: a few times over; a larger one (e.g. a 1 GiB document zipped to 1 MiB) is no T1 slice
MAX_DICOM_FILE_BYTES = 2 * MAX_VOXELS + MAX_HEADER_EXTENSION_BYTES
