"""Prisma projects for the migration cases: the sample app's schema and migrations, plus what a case adds."""

from __future__ import annotations

import shutil
from pathlib import Path

from ops.prisma import APP_DIR

SAMPLE = APP_DIR / "prisma"
INIT = "20260213000000_init"

# A later migration whose second statement fails: the first one must not stay applied.
SYNTAX_ERROR = ("20260301000000_add_email", 'ALTER TABLE "User" ADD COLUMN "email" TEXT;\nSELEC 1;\n')
# A migration that alters a table no earlier migration creates.
MISSING_TABLE = ("20260301000000_add_post_title", 'ALTER TABLE "Post" ADD COLUMN "title" TEXT;\n')
# A plpgsql body full of `;`: applied whole, as the native engine does.
FUNCTION = ("20260302000000_touch_function", """-- CreateFunction
CREATE FUNCTION touch_updated_at() RETURNS trigger AS $$
BEGIN
  NEW."updatedAt" := now();
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "User_touch" BEFORE UPDATE ON "User" FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
""")
EMAIL_COLUMN = ("20260303000000_email", 'ALTER TABLE "User" ADD COLUMN "email" TEXT;\n')


def project(root: Path, *migrations: tuple[str, str], schema_changes: tuple[tuple[str, str], ...] = ()) -> Path:
    """A copy of the sample's prisma/ folder under `root`, with more migrations and an edited schema;
    returns the schema file (its migrations/ beside it, as Prisma expects)."""
    target = root / "prisma"
    shutil.copytree(SAMPLE, target)
    for name, sql in migrations:
        (target / "migrations" / name).mkdir()
        (target / "migrations" / name / "migration.sql").write_text(sql)
    schema = target / "schema.prisma"
    text = schema.read_text()
    for old, new in schema_changes:
        assert old in text, old
        text = text.replace(old, new)
    schema.write_text(text)
    return schema


# A column added to the model without a migration (what `migrate --check` must catch).
ADD_EMAIL_TO_MODEL = ("  displayName String?\n", "  displayName String?\n  email       String?\n")
# A model no migration creates: the code would expect a table that is not there.
ADD_POST_MODEL = ("model User {", "model Post {\n  id    String @id\n  title String\n}\n\nmodel User {")
