"""The content-addressed prompt registry (docs/registry.md, docs/hashing.md).

hashing   the version hash (CONTRACTS §3)        loader   prompt files, full validation
render    chat messages from a version            store    register versions, resolve REFs
sync      register files, initial labels          labels   promote, rollback, history
links     requests → versions (the SQL view)      catalog  list, show, diff
api       get/render for applications (cache)     markdown artifacts of changes
"""
