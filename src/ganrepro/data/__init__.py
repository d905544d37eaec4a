"""Datasets: the archive format, the training-time image stream, embedded stand-ins, real-data preparation.

Public entry points::

    prepare(spec, out_dir)                       build (once) the archive a dataset spec describes
    open_archive(path, verify=True) -> Archive   validate and memory-map an archive
    write_archive(out_dir, images, labels, ...)  write one atomically
    batch_indices / xflip_mask / load_batch      the deterministic, resumable training stream
    BatchStream, ImageDataset                    convenience wrappers over those
    EMBEDDED, make_embedded, digit_images        offline stand-in generators
"""

from ganrepro.data.archive import Archive, ArchiveWriter, open_archive, write_archive
from ganrepro.data.dataset import BatchStream, ImageDataset, batch_indices, load_batch, xflip_mask
from ganrepro.data.embedded import EMBEDDED, digit_images, make_embedded
from ganrepro.data.prepare import SOURCES, is_up_to_date, normalize_spec, prepare

__all__ = [
    "Archive", "ArchiveWriter", "BatchStream", "EMBEDDED", "ImageDataset", "SOURCES", "batch_indices",
    "digit_images", "is_up_to_date", "load_batch", "make_embedded", "normalize_spec", "open_archive",
    "prepare", "write_archive", "xflip_mask",
]
