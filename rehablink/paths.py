"""Where RehabLink keeps its files: ``REHAB_HOME`` or the user's data directory."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import platformdirs


def rehab_home() -> Path:
    """Return the data directory, creating it (mode 0700) if needed.

    ``REHAB_HOME`` overrides the platform's user data directory.
    """
    override = os.environ.get("REHAB_HOME")
    home = Path(override) if override else Path(platformdirs.user_data_dir("rehablink"))
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
    except (FileExistsError, NotADirectoryError):  # a file where the directory should be
        raise NotADirectoryError(errno.ENOTDIR, "the RehabLink data directory is not a "
                                 "directory (REHAB_HOME chooses another)", str(home)) from None
    return home
