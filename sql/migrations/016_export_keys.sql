-- The compact state of the nightly export parts: the dedup keys of every example each night's
-- part wrote (fine-tuning and preferences: the exact and the normalized key; hard examples: the
-- case key), so a night's export reads only that night's feedback and still drops what an
-- earlier night already exported. Derived: a re-run of a night replaces that night's rows.
CREATE TABLE export_keys (
    kind      VARCHAR NOT NULL,   -- finetune | preferences | hard-examples
    night     DATE NOT NULL,      -- the night whose part wrote the example
    key_kind  VARCHAR NOT NULL,   -- exact | normalized | case
    key       VARCHAR NOT NULL,   -- sha256 hex (tasks/export/_text.py)
    PRIMARY KEY (kind, night, key_kind, key)
);
