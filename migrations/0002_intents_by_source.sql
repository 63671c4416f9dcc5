-- The intents of one source record: read for every changed record whose documents may need
-- amending, and by credits looking for the document they credit.
CREATE INDEX intents_by_source ON intents (project, source, sequence);
