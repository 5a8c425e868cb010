"""The content-addressed prompt registry (docs/registry.md, docs/hashing.md).

Its modules are private; other packages import the names below from this face.

_hashing   the version hash                        _loader    prompt files, full validation
_render    chat messages from a version            _store     register versions, resolve REFs
_sync      register files, initial labels          _labels    promote, rollback, history
_links     requests → versions (the SQL view)      _catalog   list, show, diff
_api       get/render for applications (cache)     _markdown  artifacts of changes

The prompt file and the hash: docs/contracts.md, "Prompt files and the version hash".
"""

from flywheel.tasks._faces import lazy_face

# the public name -> the private module that defines it; other packages import only these
_EXPORTS = {
    "PromptRegistry": "flywheel.tasks.registry._api",
    "default_registry": "flywheel.tasks.registry._api",
    "get": "flywheel.tasks.registry._api",
    "refresh": "flywheel.tasks.registry._api",
    "render": "flywheel.tasks.registry._api",
    "content_lines": "flywheel.tasks.registry._catalog",
    "diff_versions": "flywheel.tasks.registry._catalog",
    "list_prompts": "flywheel.tasks.registry._catalog",
    "move_diff": "flywheel.tasks.registry._catalog",
    "provenance_of": "flywheel.tasks.registry._catalog",
    "lineage_of": "flywheel.tasks.registry._catalog",
    "short": "flywheel.tasks.registry._catalog",
    "show": "flywheel.tasks.registry._catalog",
    "SHORT_HASH_LEN": "flywheel.tasks.registry._hashing",
    "canonical_json": "flywheel.tasks.registry._hashing",
    "prompt_hash": "flywheel.tasks.registry._hashing",
    "DEFAULT_LABEL": "flywheel.tasks.registry._labels",
    "MoveResult": "flywheel.tasks.registry._labels",
    "check_label": "flywheel.tasks.registry._labels",
    "current_label": "flywheel.tasks.registry._labels",
    "default_actor": "flywheel.tasks.registry._labels",
    "history": "flywheel.tasks.registry._labels",
    "promote": "flywheel.tasks.registry._labels",
    "resolve_for_name": "flywheel.tasks.registry._labels",
    "rollback": "flywheel.tasks.registry._labels",
    "rollback_target": "flywheel.tasks.registry._labels",
    "describe_links": "flywheel.tasks.registry._links",
    "link_report": "flywheel.tasks.registry._links",
    "PromptFileError": "flywheel.tasks.registry._loader",
    "load_prompt_file": "flywheel.tasks.registry._loader",
    "marked_yaml": "flywheel.tasks.registry._loader",
    "artifact_key": "flywheel.tasks.registry._markdown",
    "move_markdown": "flywheel.tasks.registry._markdown",
    "sync_markdown": "flywheel.tasks.registry._markdown",
    "render_messages": "flywheel.tasks.registry._render",
    "template_syntax_error": "flywheel.tasks.registry._render",
    "PromptVersion": "flywheel.tasks.registry._store",
    "known_names": "flywheel.tasks.registry._store",
    "register_version": "flywheel.tasks.registry._store",
    "resolve": "flywheel.tasks.registry._store",
    "PromptSyncError": "flywheel.tasks.registry._sync",
    "folder_files": "flywheel.tasks.registry._sync",
    "raise_for_errors": "flywheel.tasks.registry._sync",
    "sync_paths": "flywheel.tasks.registry._sync",
}

__all__, __getattr__ = lazy_face(__name__, _EXPORTS)
