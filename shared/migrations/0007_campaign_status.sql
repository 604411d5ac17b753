-- Campaign statuses are the vocabulary's (shared/vocabulary.py, CAMPAIGN_STATUSES), and why a
-- campaign failed.
--
-- Why: the state machine reads in one place in Python, but nothing stopped a typo in SQL from
-- storing a status no service knows. The CHECK below is the text of
-- vocabulary.check_constraint('status', CAMPAIGN_STATUSES); tests/unit/test_migrations.py
-- keeps the two equal, so a new status is added to the vocabulary and a new migration.
ALTER TABLE campaigns ADD CONSTRAINT campaigns_status_check
    CHECK (status IN ('new', 'scheduled', 'processing', 'paused', 'sent', 'sent_with_error', 'failed', 'cancelled', 'removed'));

-- The resolver fails a campaign it can never resolve (a stored filter a newer validator
-- refuses, a template that fails for everyone) instead of retrying it forever; this says why.
ALTER TABLE campaigns ADD COLUMN failed_reason text;
