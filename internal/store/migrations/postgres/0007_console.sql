-- The console: ratings, tags and staff notes on leads, and the search index
-- over their sealed names, emails and companies.

-- 0 none, 1 cold, 2 warm, 3 hot: hotter sorts higher.
ALTER TABLE leads ADD COLUMN rating INTEGER NOT NULL DEFAULT 0 CHECK (rating BETWEEN 0 AND 3);
-- Leads are indexed for search in the background (Store.IndexLeads), off
-- the capture path: 0 until then, and again after a merge changes them.
ALTER TABLE leads ADD COLUMN search_indexed INTEGER NOT NULL DEFAULT 0;

-- Ratings filter and sort through their index. The spam index costs the
-- capture path nothing, as a new lead is rarely spam; the unindexed one
-- holds only the few leads the indexer has not reached yet.
CREATE INDEX leads_rating ON leads (rating, id);
CREATE INDEX leads_spam ON leads (id) WHERE spam = TRUE;
CREATE INDEX leads_unindexed ON leads (id) WHERE search_indexed = 0;

-- Keyed blind indexes of the first letters of each word of a lead's name,
-- email and company (see terms.go): equal terms mean equal prefixes, which
-- is all the table tells without the index key.
CREATE TABLE lead_terms (
    term    BIGINT NOT NULL,
    lead_id TEXT NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    PRIMARY KEY (term, lead_id)
);
CREATE INDEX lead_terms_lead ON lead_terms (lead_id);

-- Staff labels: short, not personal data, kept in clear so they filter.
CREATE TABLE lead_tags (
    lead_id TEXT NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    tag     TEXT NOT NULL,
    PRIMARY KEY (lead_id, tag)
);
CREATE INDEX lead_tags_tag ON lead_tags (tag, lead_id);

-- Staff notes, append-only; the text is sealed like a lead's fields.
CREATE TABLE lead_notes (
    id         TEXT PRIMARY KEY,
    lead_id    TEXT NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    author_id  TEXT NOT NULL DEFAULT '',
    author     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    data       BYTEA NOT NULL
);
CREATE INDEX lead_notes_lead ON lead_notes (lead_id, created_at);
