"""Model-file scanning: recognise model and pickle formats by content and find what runs code on load.

Pure library: give it a file (or a seekable stream) and limits; it returns a frozen ``Report`` of issues.
Nothing is ever unpickled, imported or executed.
"""

from annexa.scan.modelfiles.allowlist import DEFAULT_ALLOWED_GLOBALS
from annexa.scan.modelfiles.records import Issue, Kind, Limits, Report
from annexa.scan.modelfiles.scanner import scan_path, scan_stream
from annexa.scan.modelfiles.sniff import HEAD, MODEL_FORMATS, Format, sniff

__all__ = [
    "DEFAULT_ALLOWED_GLOBALS",
    "HEAD",
    "MODEL_FORMATS",
    "Format",
    "Issue",
    "Kind",
    "Limits",
    "Report",
    "scan_path",
    "scan_stream",
    "sniff",
]
