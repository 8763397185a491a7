"""Downloading a saved folder from the Hub, with one-line errors.

Downloads go through `huggingface_hub.snapshot_download`, so
`HF_HOME`/`HF_HUB_CACHE` (the cache), `HF_ENDPOINT` (the Hub's address),
`HF_HUB_OFFLINE` (cache only) and `HF_TOKEN` apply. `huggingface_hub` reads
these when it is first imported; later changes of `os.environ` are not seen
by it, so pass `endpoint=`, `cache_dir=`, `token=` or `local_files_only=`
to change them at run time. Only the files of `layout.REPO_FILES` are
downloaded.
"""

import os
import sys

from keras_attn_deblur.hub import layout
from keras_attn_deblur.version import __version__

LOGIN_HINT = "(or set HF_TOKEN, or run `hf auth login`)"


# The options of a download (those of `huggingface_hub.snapshot_download`
# that `AttnDeblurNet.from_pretrained` passes on).
DOWNLOAD_OPTIONS = (
    "revision", "cache_dir", "token", "endpoint", "local_files_only", "force_download",
)  # fmt: skip


def snapshot(repo_id, **options):
    """Downloads the folder's files of a Hub repo; returns the snapshot folder.

    Args:
        repo_id: str. `"namespace/name"`.
        **options: `DOWNLOAD_OPTIONS`: `revision` (branch, tag or commit;
            `None`: the default branch), `cache_dir` (`None`:
            `HF_HUB_CACHE`, `$HF_HOME/hub`), `token` (`False` sends none;
            `None`: `HF_TOKEN` or the saved login), `endpoint` (`None`:
            `HF_ENDPOINT`, or https://huggingface.co), `local_files_only`
            (the cache only, never the network) and `force_download`
            (download again even if cached).

    Raises:
        TypeError: an option not in `DOWNLOAD_OPTIONS`.
        FileNotFoundError: no such repo or revision.
        PermissionError: the repo is gated or private and the token cannot read it.
        ConnectionError: the Hub cannot be reached (or may not be: offline
            mode) and the cache does not hold the files.
    """
    check_options(options)
    import huggingface_hub
    from huggingface_hub import constants
    from huggingface_hub import errors

    revision, cache_dir = options.get("revision"), options.get("cache_dir")
    hub = hub_address(options.get("endpoint"))
    what = f"'{repo_id}'" + (f" (revision '{revision}')" if revision else "")
    cache = os.fspath(cache_dir) if cache_dir is not None else constants.HF_HUB_CACHE
    login_hint = f"pass token= {LOGIN_HINT}"
    try:
        return huggingface_hub.snapshot_download(
            repo_id,
            **options,
            allow_patterns=list(layout.REPO_FILES),
            library_name="keras_attn_deblur",
            library_version=__version__,
        )
    except errors.RevisionNotFoundError as error:
        raise FileNotFoundError(
            f"Hub repo '{repo_id}' at {hub} has no revision '{revision}': pass an "
            "existing branch, tag or commit, or revision=None for the default branch."
        ) from error
    except errors.GatedRepoError as error:
        raise PermissionError(
            f"Hub repo '{repo_id}' at {hub} is gated: accept its conditions on its "
            f"page, then {login_hint}."
        ) from error
    except errors.RepositoryNotFoundError as error:
        if http_status(error) == 401:
            raise PermissionError(
                f"Hub repo '{repo_id}' at {hub} does not exist or is private and no "
                f"valid token was sent: check the repo id, or {login_hint}."
            ) from error
        raise FileNotFoundError(
            f"Hub repo '{repo_id}' was not found at {hub}: check the repo id (and, "
            "if it is private, that your token can read it)."
        ) from error
    except errors.LocalEntryNotFoundError as error:
        if options.get("local_files_only") or _offline_mode():
            reason = (
                "HF_HUB_OFFLINE is set" if _offline_mode() else "local_files_only=True was passed"
            )
            raise ConnectionError(
                f"{what} is not (completely) in the Hub cache at {cache} and {reason}, "
                "so nothing was downloaded: download it once with network access, or "
                "point cache_dir= (or HF_HOME) at a cache that has it."
            ) from error
        raise ConnectionError(
            f"Could not reach the Hub at {hub} to download {what}, and it is not in "
            f"the cache at {cache}: check the network connection and HF_ENDPOINT "
            "(or endpoint=), or download it once while online."
        ) from error
    except errors.HfHubHTTPError as error:
        if http_status(error) in (401, 403):
            raise PermissionError(
                f"The Hub at {hub} refused the token for {what} (HTTP {http_status(error)}): "
                f"{login_hint} with a token that can read the repo."
            ) from error
        raise ConnectionError(
            f"The Hub at {hub} failed to serve {what} (HTTP {http_status(error)}): "
            "try again later."
        ) from error


def check_options(options):
    """Raises `TypeError` for a name of `options` that is not in `DOWNLOAD_OPTIONS`."""
    unknown = sorted(set(options) - set(DOWNLOAD_OPTIONS))
    if unknown:
        raise TypeError(f"Unknown options {unknown}; the Hub options are {DOWNLOAD_OPTIONS}.")


def hub_address(endpoint):
    """The Hub's address that a request to `endpoint` (`None`: HF_ENDPOINT) goes to."""
    from huggingface_hub import constants

    return (endpoint or constants.ENDPOINT).rstrip("/")


def http_status(error):
    """The HTTP status code of a huggingface_hub error, or `None`."""
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)


def _offline_mode():
    from huggingface_hub import constants

    is_offline = getattr(constants, "is_offline_mode", None)
    return bool(is_offline()) if callable(is_offline) else bool(constants.HF_HUB_OFFLINE)


def connection_errors():
    """The network errors of the HTTP client huggingface_hub uses."""
    types = [ConnectionError]
    for module_name, names in (
        ("httpx2", ("ConnectError", "TimeoutException")),
        ("httpx", ("ConnectError", "TimeoutException")),
        ("requests", ("ConnectionError", "Timeout")),
    ):
        module = sys.modules.get(module_name)
        for name in names:
            error_type = getattr(module, name, None)
            if isinstance(error_type, type) and issubclass(error_type, BaseException):
                types.append(error_type)
    return tuple(types)
