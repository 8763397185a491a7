"""A Hugging Face Hub look-alike on 127.0.0.1, for offline tests of the real client.

`HubServer` speaks the part of the Hub's HTTP protocol that `huggingface_hub`
2.x uses to create repos, commit files (inline or through Git LFS), list and
download them, so that tests run the real client, unmocked, with no network:

- `POST /api/repos/create`, `POST /api/validate-yaml`
- `GET /api/models/{repo}[/revision/{rev}]` (the `sha` and `siblings`)
- `GET /api/models/{repo}/tree/{rev}[/{path}]` (`?recursive=`)
- `POST /api/models/{repo}/preupload/{rev}` ("regular" or "lfs" per file)
- the same under `/api/spaces/{repo}/...`, `/spaces/{repo}.git/...` and
  `/spaces/{repo}/resolve/...` for Spaces (`create` needs an `sdk`); a
  Space is kept as `repos["spaces/{repo}"]`
- `POST /{repo}.git/info/lfs/objects/batch`, then `PUT /__lfs/{oid}` and
  `POST /__lfs/{oid}/verify` (the basic LFS transfer, what the client does
  with `HF_HUB_DISABLE_XET=1`)
- `POST /api/models/{repo}/commit/{rev}` (ndjson: header, file, lfsFile,
  deletedFile, deletedFolder; `?create_pr=1` opens `refs/pr/N`)
- `POST /api/models/{repo}/branch/{branch}`
- `HEAD`/`GET /{repo}/resolve/{rev}/{path}` with `X-Repo-Commit`, `ETag`,
  `X-Linked-Etag`/`X-Linked-Size` (LFS files), `Content-Length` and ranges.

Repos live in memory with real revisions: every commit gets a SHA-1 and a
frozen snapshot of the files, branches are refs to commits. Access follows
the Hub: an unknown token gets 401 "Invalid credentials"; a private repo, or
an unknown one, gets 401 `RepoNotFound` without a token and 404
`RepoNotFound` with one; writes need a valid token. What it leaves out:
Xet storage, gated repos, tags, pagination, multipart LFS uploads.

`requests` records every (method, path) served and `lfs_uploads` the OIDs
received by `PUT /__lfs/...`, so tests can check which paths the client took.
`commit_raw` writes files bypassing the checks of the commit endpoint (for
files the real Hub would refuse, such as `../evil.txt`).
"""

import base64
import fnmatch
import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs
from urllib.parse import unquote
from urllib.parse import urlsplit

import yaml

# What the Hub's default .gitattributes sends to LFS (the usual weight formats).
DEFAULT_LFS_PATTERNS = ("*.h5", "*.keras", "*.bin", "*.safetensors", "*.npz", "*.pt", "*.msgpack")
# The Hub also sends any file of 10 MB or more to LFS.
DEFAULT_LFS_THRESHOLD = 10 * 1024 * 1024
_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n" for pattern in DEFAULT_LFS_PATTERNS
).encode()


def git_blob_sha1(content):
    """The git object id of a blob: SHA-1 of "blob <size>\\0<content>"."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def _lfs_pointer(content):
    return (
        "version https://git-lfs.github.com/spec/v1\n"
        f"oid sha256:{hashlib.sha256(content).hexdigest()}\nsize {len(content)}\n"
    ).encode()


class StoredFile:
    """A file of a commit: its bytes, and whether it is stored through LFS."""

    def __init__(self, content, lfs):
        self.content = content
        self.lfs = lfs
        self.sha256 = hashlib.sha256(content).hexdigest()
        # Git stores an LFS file as its pointer: the blob id is the pointer's.
        self.blob_id = git_blob_sha1(_lfs_pointer(content) if lfs else content)

    @property
    def etag(self):
        return self.sha256 if self.lfs else self.blob_id

    @property
    def oid(self):
        """The id `preupload` reports, the one the client compares with."""
        return self.sha256 if self.lfs else git_blob_sha1(self.content)


class Repo:
    def __init__(self, repo_id, private):
        self.repo_id = repo_id
        self.private = private
        self.commits = {}  # sha -> {path: StoredFile}
        self.refs = {}  # branch or "refs/pr/N" -> sha
        self.pull_requests = 0
        self.sdk = None  # a Space's sdk ("gradio")

    def resolve(self, revision):
        if revision in self.refs:
            return self.refs[revision]
        if revision in self.commits:
            return revision
        return None


class _HubError(Exception):
    def __init__(self, status, message, code=None, headers=None, payload=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}
        self.payload = payload or {}


class HubServer:
    """The loopback Hub. Use as a context manager or call `start`/`stop`.

    Args:
        tokens: tuple of str. Tokens that authenticate (each may write).
            Defaults to `("hf_loopback_token",)`.
        lfs_patterns: tuple of str. File-name patterns `preupload` answers
            "lfs" for. Defaults to `DEFAULT_LFS_PATTERNS`.
        lfs_threshold: int. Size from which any file goes to LFS.
    """

    def __init__(
        self,
        tokens=("hf_loopback_token",),
        lfs_patterns=DEFAULT_LFS_PATTERNS,
        lfs_threshold=DEFAULT_LFS_THRESHOLD,
    ):
        self.tokens = tuple(tokens)
        self.lfs_patterns = tuple(lfs_patterns)
        self.lfs_threshold = lfs_threshold
        self.repos = {}
        self.lfs_objects = {}  # sha256 -> bytes
        self.lfs_uploads = []
        self.requests = []
        self._lock = threading.RLock()
        self._counter = 0
        self._httpd = None
        self._thread = None

    # --- Lifecycle -----------------------------------------------------------
    def start(self):
        handler = type("Handler", (_Handler,), {"hub": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def url(self):
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # --- Test helpers ----------------------------------------------------------
    def create_repo(self, repo_id, private=False):
        """Creates a repo with the Hub's first commit (a .gitattributes)."""
        with self._lock:
            if repo_id in self.repos:
                raise ValueError(f"repo {repo_id} exists")
            repo = Repo(repo_id, private)
            self.repos[repo_id] = repo
            sha = self._new_commit_sha(repo_id, "initial commit")
            repo.commits[sha] = {".gitattributes": StoredFile(_GITATTRIBUTES, lfs=False)}
            repo.refs["main"] = sha
            return repo

    def commit_raw(self, repo_id, files, branch="main"):
        """Commits {path: bytes} as given, with no check on the paths."""
        with self._lock:
            repo = self.repos[repo_id]
            snapshot = dict(repo.commits[repo.refs[branch]])
            for path, content in files.items():
                snapshot[path] = StoredFile(content, lfs=False)
            sha = self._new_commit_sha(repo_id, f"raw {sorted(files)}")
            repo.commits[sha] = snapshot
            repo.refs[branch] = sha
            return sha

    def head(self, repo_id, branch="main"):
        return self.repos[repo_id].refs[branch]

    def file(self, repo_id, path, revision="main"):
        repo = self.repos[repo_id]
        return repo.commits[repo.resolve(revision)][path]

    def requested(self, method, path_part):
        """How many requests of `method` had `path_part` in their path."""
        return sum(1 for m, path in self.requests if m == method and path_part in path)

    def _new_commit_sha(self, repo_id, text):
        self._counter += 1
        seed = f"{repo_id}\n{self._counter}\n{time.time_ns()}\n{text}".encode()
        return hashlib.sha1(seed).hexdigest()

    # --- Access ---------------------------------------------------------------
    def _token(self, headers):
        value = headers.get("Authorization", "")
        if not value.startswith("Bearer "):
            return None
        token = value[len("Bearer ") :].strip()
        if token not in self.tokens:
            raise _HubError(401, "Invalid credentials in Authorization header")
        return token

    def _repo(self, repo_id, headers, write=False):
        token = self._token(headers)
        if write and token is None:
            raise _HubError(401, "You must be authenticated to write to a repo")
        repo = self.repos.get(repo_id)
        if repo is None or (repo.private and token is None):
            raise _HubError(
                401 if token is None else 404,
                "Repository not found",
                code="RepoNotFound",
            )
        return repo

    def _revision(self, repo, revision):
        sha = repo.resolve(revision)
        if sha is None:
            raise _HubError(404, f"Invalid rev id: {revision}", code="RevisionNotFound")
        return sha

    def _is_lfs(self, path, size):
        name = path.rsplit("/", 1)[-1]
        return size >= self.lfs_threshold or any(
            fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(path, pattern)
            for pattern in self.lfs_patterns
        )

    # --- Endpoints ------------------------------------------------------------
    def handle(self, method, segments, query, headers, body):
        """Routes one request. Returns (status, headers, body bytes)."""
        if segments[:2] == ["api", "repos"] and segments[2:] == ["create"] and method == "POST":
            return self._create_repo(headers, json.loads(body or b"{}"))
        if segments == ["api", "validate-yaml"] and method == "POST":
            return self._validate_yaml(json.loads(body or b"{}"))
        if segments[:2] in (["api", "models"], ["api", "spaces"]) and len(segments) >= 4:
            repo_id = _repo_key(segments[1][:-1], "/".join(segments[2:4]))
            routed = self._route_repo(repo_id, segments[4:], method, query, headers, body)
            if routed is not None:
                return routed
        if segments[:1] == ["__lfs"] and len(segments) >= 2:
            if method == "PUT" and len(segments) == 2:
                return self._lfs_put(segments[1], body)
            if method == "POST" and segments[2:] == ["verify"]:
                return self._lfs_verify(json.loads(body))
        repo_type = "model"
        if segments[:1] == ["spaces"] and len(segments) >= 3:
            repo_type, segments = "space", segments[1:]
        if (
            len(segments) == 6
            and segments[1].endswith(".git")
            and segments[2:] == ["info", "lfs", "objects", "batch"]
            and method == "POST"
        ):
            repo_id = _repo_key(repo_type, f"{segments[0]}/{segments[1][: -len('.git')]}")
            return self._lfs_batch(repo_id, headers, json.loads(body))
        if len(segments) >= 5 and segments[2] == "resolve" and method in ("GET", "HEAD"):
            repo_id = _repo_key(repo_type, "/".join(segments[:2]))
            return self._resolve(repo_id, segments[3], "/".join(segments[4:]), headers, method)
        raise _HubError(404, f"No route for {method} /{'/'.join(segments)}")

    def _route_repo(self, repo_id, rest, method, query, headers, body):
        """`/api/models/{repo}/...` and `/api/spaces/{repo}/...`; `None` when no route fits."""
        if not rest and method == "GET":
            return self._model_info(repo_id, "main", headers)
        if rest[:1] == ["revision"] and len(rest) == 2 and method == "GET":
            return self._model_info(repo_id, rest[1], headers)
        if rest[:1] == ["tree"] and len(rest) >= 2 and method == "GET":
            return self._tree(repo_id, rest[1], "/".join(rest[2:]), query, headers)
        if rest[:1] == ["preupload"] and len(rest) == 2 and method == "POST":
            return self._preupload(repo_id, rest[1], headers, json.loads(body))
        if rest[:1] == ["commit"] and len(rest) == 2 and method == "POST":
            return self._commit(repo_id, rest[1], query, headers, body)
        if rest[:1] == ["branch"] and len(rest) == 2 and method == "POST":
            return self._create_branch(repo_id, rest[1], headers, json.loads(body or b"{}"))
        return None

    def _create_repo(self, headers, payload):
        if self._token(headers) is None:
            raise _HubError(401, "You must be authenticated to create a repo")
        repo_type = payload.get("type") or "model"
        if repo_type not in ("model", "space"):
            raise _HubError(400, "Only model repos and Spaces are served here")
        if repo_type == "space" and payload.get("sdk") not in ("gradio", "docker", "static"):
            raise _HubError(400, "A Space needs an sdk: gradio, docker or static")
        repo_id = _repo_key(repo_type, f"{payload.get('organization')}/{payload['name']}")
        with self._lock:
            if repo_id in self.repos:
                # The Hub answers a repeated creation with the repo's url.
                raise _HubError(
                    409,
                    "You already created this model repo",
                    payload={"url": f"{self.url}/{repo_id}"},
                )
            # huggingface_hub 1.x+ sends "visibility"; older clients sent "private".
            private = payload.get("visibility") == "private" or bool(payload.get("private"))
            self.create_repo(repo_id, private=private)
            self.repos[repo_id].sdk = payload.get("sdk")
        return _json(200, {"url": f"{self.url}/{repo_id}", "name": repo_id, "id": repo_id})

    def _validate_yaml(self, payload):
        content = payload.get("content", "")
        errors = []
        metadata = None
        if content.startswith("---"):
            end = content.find("\n---", 3)
            if end == -1:
                errors.append("The YAML front matter is not closed by '---'")
            else:
                try:
                    metadata = yaml.safe_load(content[3:end])
                except yaml.YAMLError as error:
                    errors.append(f"Invalid YAML: {error}")
        if metadata is not None and not isinstance(metadata, dict):
            errors.append("The metadata must be a YAML mapping")
        elif metadata:
            errors.extend(_model_index_errors(metadata.get("model-index")))
        if errors:
            return _json(400, {"errors": [{"message": message} for message in errors]})
        warnings = [] if metadata else [{"message": "Empty or missing yaml metadata in repo card"}]
        return _json(200, {"errors": [], "warnings": warnings})

    def _model_info(self, repo_id, revision, headers):
        with self._lock:
            repo = self._repo(repo_id, headers)
            sha = self._revision(repo, revision)
            files = repo.commits[sha]
            return _json(
                200,
                {
                    "_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24],
                    "id": repo_id,
                    "modelId": repo_id,
                    "sha": sha,
                    "private": repo.private,
                    "disabled": False,
                    "gated": False,
                    "downloads": 0,
                    "likes": 0,
                    "tags": [],
                    "siblings": [{"rfilename": path} for path in sorted(files)],
                    "lastModified": "2026-01-01T00:00:00.000Z",
                    "createdAt": "2026-01-01T00:00:00.000Z",
                },
            )

    def _tree(self, repo_id, revision, path, query, headers):
        recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
        with self._lock:
            repo = self._repo(repo_id, headers)
            files = repo.commits[self._revision(repo, revision)]
        prefix = f"{path.strip('/')}/" if path.strip("/") else ""
        entries = {}
        for file_path, stored in sorted(files.items()):
            if not file_path.startswith(prefix):
                continue
            relative = file_path[len(prefix) :]
            parts = relative.split("/")
            if ".." not in parts:  # directories of well-formed paths
                for depth in range(1, len(parts)):
                    if recursive or depth == 1:
                        directory = prefix + "/".join(parts[:depth])
                        entries.setdefault(
                            directory,
                            {
                                "type": "directory",
                                "oid": hashlib.sha1(directory.encode()).hexdigest(),
                                "size": 0,
                                "path": directory,
                            },
                        )
            if recursive or len(parts) == 1 or ".." in parts:
                entry = {
                    "type": "file",
                    "oid": stored.blob_id,
                    "size": len(stored.content),
                    "path": file_path,
                }
                if stored.lfs:
                    entry["lfs"] = {
                        "oid": stored.sha256,
                        "size": len(stored.content),
                        "pointerSize": len(_lfs_pointer(stored.content)),
                    }
                entries[file_path] = entry
        return _json(200, list(entries.values()))

    def _preupload(self, repo_id, revision, headers, payload):
        with self._lock:
            repo = self._repo(repo_id, headers, write=True)
            sha = repo.resolve(revision)
            existing = repo.commits[sha] if sha is not None else {}
        answers = []
        for item in payload["files"]:
            stored = existing.get(item["path"])
            lfs = self._is_lfs(item["path"], item["size"])
            answers.append(
                {
                    "path": item["path"],
                    "uploadMode": "lfs" if lfs else "regular",
                    "shouldIgnore": False,
                    "oid": stored.oid if stored is not None and stored.lfs == lfs else None,
                }
            )
        return _json(200, {"files": answers, "commitOid": sha})

    def _lfs_batch(self, repo_id, headers, payload):
        with self._lock:
            self._repo(repo_id, headers, write=True)
        if payload.get("operation") != "upload":
            raise _HubError(400, "Only LFS uploads are served here")
        objects = []
        for item in payload["objects"]:
            answer = {"oid": item["oid"], "size": item["size"], "authenticated": True}
            if item["oid"] not in self.lfs_objects:
                answer["actions"] = {
                    "upload": {"href": f"{self.url}/__lfs/{item['oid']}", "header": {}},
                    "verify": {"href": f"{self.url}/__lfs/{item['oid']}/verify"},
                }
            objects.append(answer)
        return _json(
            200,
            {"transfer": "basic", "objects": objects},
            content_type="application/vnd.git-lfs+json",
        )

    def _lfs_put(self, oid, body):
        if hashlib.sha256(body).hexdigest() != oid:
            raise _HubError(400, "The uploaded content does not match its sha256 oid")
        with self._lock:
            self.lfs_objects[oid] = body
            self.lfs_uploads.append(oid)
        return 200, {}, b""

    def _lfs_verify(self, payload):
        content = self.lfs_objects.get(payload.get("oid"))
        if content is None or len(content) != payload.get("size"):
            raise _HubError(404, "LFS object not found")
        return _json(200, {"oid": payload["oid"], "size": payload["size"]})

    def _commit(self, repo_id, revision, query, headers, body):
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            raise _HubError(400, "A commit starts with a header line")
        header = lines[0]["value"]
        create_pr = query.get("create_pr", ["0"])[0] in ("1", "true")
        with self._lock:
            repo = self._repo(repo_id, headers, write=True)
            base = self._revision(repo, revision)
            if not create_pr and revision not in repo.refs:
                raise _HubError(400, f"Commits go to a branch, not to {revision!r}")
            parent = header.get("parentCommit")
            if parent is not None and parent != base:
                raise _HubError(412, "A commit has happened since the parent commit")
            snapshot = dict(repo.commits[base])
            for line in lines[1:]:
                key, value = line["key"], line["value"]
                path = value.get("path", "")
                if not _is_safe_path(path):
                    raise _HubError(400, f"Invalid path in commit: {path!r}")
                if key == "file":
                    snapshot[path] = StoredFile(base64.b64decode(value["content"]), lfs=False)
                elif key == "lfsFile":
                    content = self.lfs_objects.get(value["oid"])
                    if content is None:
                        raise _HubError(422, f"LFS object {value['oid']} was not uploaded")
                    snapshot[path] = StoredFile(content, lfs=True)
                elif key == "deletedFile":
                    if snapshot.pop(path, None) is None:
                        raise _HubError(
                            404, "A file with this name doesn't exist", code="EntryNotFound"
                        )
                elif key == "deletedFolder":
                    folder = path.rstrip("/") + "/"
                    for name in [name for name in snapshot if name.startswith(folder)]:
                        del snapshot[name]
                else:
                    raise _HubError(400, f"Unknown commit operation {key!r}")
            sha = self._new_commit_sha(repo_id, header.get("summary", ""))
            repo.commits[sha] = snapshot
            pull_request_url = None
            if create_pr:
                repo.pull_requests += 1
                repo.refs[f"refs/pr/{repo.pull_requests}"] = sha
                pull_request_url = f"{self.url}/{repo_id}/discussions/{repo.pull_requests}"
            else:
                repo.refs[revision] = sha
        return _json(
            200,
            {
                "success": True,
                "commitOid": sha,
                "commitUrl": f"{self.url}/{repo_id}/commit/{sha}",
                "pullRequestUrl": pull_request_url,
            },
        )

    def _create_branch(self, repo_id, branch, headers, payload):
        with self._lock:
            repo = self._repo(repo_id, headers, write=True)
            if branch in repo.refs:
                raise _HubError(409, "Reference already exists")
            repo.refs[branch] = self._revision(repo, payload.get("startingPoint") or "main")
        return _json(200, {})

    def _resolve(self, repo_id, revision, path, headers, method):
        with self._lock:
            repo = self._repo(repo_id, headers)
            sha = self._revision(repo, revision)
            stored = repo.commits[sha].get(path)
        if stored is None:
            raise _HubError(
                404, "Entry not found", code="EntryNotFound", headers={"X-Repo-Commit": sha}
            )
        content = stored.content
        response_headers = {
            "X-Repo-Commit": sha,
            "ETag": f'"{stored.etag}"',
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
        }
        if stored.lfs:
            response_headers["X-Linked-Etag"] = f'"{stored.sha256}"'
            response_headers["X-Linked-Size"] = str(len(content))
        status = 200
        requested = headers.get("Range", "")
        if requested.startswith("bytes=") and method == "GET":
            start, _, end = requested[len("bytes=") :].partition("-")
            start = int(start or 0)
            end = int(end) if end else len(content) - 1
            response_headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
            content = content[start : end + 1]
            status = 206
        return status, response_headers, content


def _repo_key(repo_type, repo_id):
    """Where a repo is kept: models by their id, Spaces as "spaces/{id}" (as in their URLs)."""
    return repo_id if repo_type == "model" else f"{repo_type}s/{repo_id}"


def _is_safe_path(path):
    parts = path.replace("\\", "/").split("/")
    return bool(path) and not path.startswith("/") and ".." not in parts and ":" not in parts[0]


def _model_index_errors(model_index):
    """Structural checks of a model card's `model-index`, as the Hub makes them."""
    if model_index is None:
        return []
    if not isinstance(model_index, list):
        return ["model-index must be a list"]
    errors = []
    for model in model_index:
        if not isinstance(model, dict) or not isinstance(model.get("name"), str):
            errors.append("model-index entries need a name")
            continue
        for result in model.get("results") or []:
            task = result.get("task") or {}
            dataset = result.get("dataset") or {}
            if not isinstance(task.get("type"), str):
                errors.append("model-index results need task.type")
            if not isinstance(dataset.get("name"), str) or not isinstance(dataset.get("type"), str):
                errors.append("model-index results need dataset.name and dataset.type")
            for metric in result.get("metrics") or []:
                if not isinstance(metric.get("type"), str) or not isinstance(
                    metric.get("value"), (int, float)
                ):
                    errors.append("model-index metrics need a type and a numeric value")
    return errors


def _json(status, payload, content_type="application/json"):
    return status, {"Content-Type": content_type}, json.dumps(payload).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub = None  # set by HubServer.start

    def log_message(self, format, *args):  # quiet: tests read `hub.requests`
        pass

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self, method):
        body = self._read_body() if method in ("POST", "PUT") else b""
        parts = urlsplit(self.path)
        segments = [unquote(segment) for segment in parts.path.strip("/").split("/")]
        with self.hub._lock:
            self.hub.requests.append((method, parts.path))
        try:
            status, headers, content = self.hub.handle(
                method, segments, parse_qs(parts.query), self.headers, body
            )
        except _HubError as error:
            status = error.status
            headers = {
                "Content-Type": "application/json",
                "X-Error-Message": error.message,
                **error.headers,
            }
            if error.code is not None:
                headers["X-Error-Code"] = error.code
            content = json.dumps({"error": error.message, **error.payload}).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(content)

    def do_GET(self):
        self._serve("GET")

    def do_HEAD(self):
        self._serve("HEAD")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")
