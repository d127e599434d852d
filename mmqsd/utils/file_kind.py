"""Naming a file by its first bytes, for errors about files of the wrong kind.

What a failed download, a wrong file or an unpacked-too-little archive leaves
in place of a checkpoint or an event recording is usually one of a few
well-known formats.  :func:`describe_file_start` names them from their
signatures ("magic numbers"), so that an error can say *what* the file is and
how to get the right one, instead of only that it is unreadable.
"""
from typing import NamedTuple, Optional

#: How many leading bytes :func:`describe_file_start` looks at (tar's signature sits at 257).
HEAD_BYTES = 512

UNPACK = 'unpack it first and point at the file inside'
DOWNLOAD_AGAIN = 'download it again (the server sent a page instead of the file)'


class FileKind(NamedTuple):
    """A recognised file format: ``what`` it is and the usual ``fix``."""
    what: str
    fix: str


#: ``(signature at offset 0, kind)``, checked in order.
SIGNATURES = (
    (b'PK\x03\x04', FileKind('a zip archive', UNPACK)),
    (b'PK\x05\x06', FileKind('an empty zip archive', 'get the file again')),
    (b'\x1f\x8b', FileKind('a gzip-compressed file', UNPACK)),
    (b'BZh', FileKind('a bzip2-compressed file', UNPACK)),
    (b'\xfd7zXZ\x00', FileKind('an xz-compressed file', UNPACK)),
    (b"7z\xbc\xaf'\x1c", FileKind('a 7z archive', UNPACK)),
    (b'Rar!\x1a\x07', FileKind('a RAR archive', UNPACK)),
    (b'\x89HDF\r\n\x1a\n', FileKind('an HDF5 file', 'use the file in the format the tool reads')),
    (b'\x93NUMPY', FileKind('a NumPy .npy array', 'use the file in the format the tool reads')),
    (b'#!AER-DAT', FileKind('an AEDAT event recording', 'use the file the tool reads')),
    (b'version https://git-lfs', FileKind(
        'a Git LFS pointer (the real file was never fetched)', 'run `git lfs pull`')),
)


def describe_file_start(head: bytes) -> Optional[FileKind]:
    """Name the format that ``head`` (a file's first bytes, ideally :data:`HEAD_BYTES`) starts.

    Recognises the archives and compressors of :data:`SIGNATURES`, tar
    (``ustar`` at byte 257), HTML/XML pages and JSON text (what a web server
    sends instead of a file), Python pickles, and returns None for anything
    else.  PyTorch's own zip checkpoints are reported as zip archives: callers
    that accept them check for them first.
    """
    for signature, kind in SIGNATURES:
        if head.startswith(signature):
            return kind
    if head[257:262] == b'ustar':
        return FileKind('a tar archive', UNPACK)
    text = head.lstrip(b'\xef\xbb\xbf \t\r\n')  # UTF-8 byte order mark, white space
    if text[:1] == b'<':
        return FileKind('an HTML/XML page (e.g. an error or login page)', DOWNLOAD_AGAIN)
    if text[:1] in (b'{', b'['):
        return FileKind('JSON text (e.g. a server error message)', DOWNLOAD_AGAIN)
    if head[:1] == b'\x80' and head[1:2] in (b'\x02', b'\x03', b'\x04', b'\x05'):
        return FileKind('a Python pickle', 'use the file the tool reads')
    return None
