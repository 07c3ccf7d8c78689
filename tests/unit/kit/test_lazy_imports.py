"""Start-up stays light: Alembic is imported only when there is migrating to do, and the head revision the
kit reads from the version scripts is the one Alembic computes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from paved_alerting.migrations import MIGRATIONS as ALERTING
from paved_catalog.migrations import MIGRATIONS as CATALOG
from paved_cost.migrations import MIGRATIONS as COST
from paved_kit.migrations import Migrations
from paved_policy.migrations import MIGRATIONS as POLICY
from paved_provisioning.migrations import MIGRATIONS as PROVISIONING
from sqlalchemy import MetaData

SERVICES = ("catalog", "provisioning", "policy", "cost", "alerting")


@pytest.mark.parametrize("migrations", [CATALOG, PROVISIONING, POLICY, COST, ALERTING])
def test_the_head_read_from_the_scripts_is_alembics(migrations: Migrations) -> None:
    assert migrations.head() == migrations.alembic_head()


def _script(versions: Path, revision: str, parent: str | None, *, annotated: bool = True) -> None:
    kind = ": str | None" if annotated else ""
    (versions / f"{revision}_step.py").write_text(
        f'"""step"""\nrevision{": str" if annotated else ""} = "{revision}"\n'
        f"down_revision{kind} = {parent!r}\n\n\ndef upgrade() -> None:\n    pass\n"
    )


def test_head_of_a_linear_history_is_its_last_script(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    _script(versions, "0001", None)
    _script(versions, "0003", "0002", annotated=False)
    _script(versions, "0002", "0001")

    assert Migrations(tmp_path, "alembic_version_demo", MetaData()).head() == "0003"


def test_importing_a_service_does_not_import_alembic() -> None:
    imports = "; ".join(f"import paved_{name}.__main__" for name in SERVICES)
    probe = f"import sys; {imports}; print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"

    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"


def test_a_start_on_a_database_at_head_does_not_import_alembic(tmp_path: Path) -> None:
    probe = textwrap.dedent(
        f"""
        import asyncio, sys
        from paved_kit.db import create_engine
        from paved_kit.migrations import prepare_schema
        from paved_catalog.migrations import MIGRATIONS

        async def main():
            engine = create_engine("sqlite+aiosqlite:///{tmp_path / "catalog.db"}")
            outcome = await prepare_schema(engine, MIGRATIONS)
            await engine.dispose()
            print("RESULT", outcome, "alembic" in sys.modules)

        asyncio.run(main())
        """
    )

    first = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    again = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    def result(run: subprocess.CompletedProcess[str]) -> str:
        return next(line for line in run.stdout.splitlines() if line.startswith("RESULT "))

    assert result(first) == f"RESULT upgraded from empty to {CATALOG.head()} True"
    assert result(again) == "RESULT up to date False"


def test_the_gateway_starts_without_sqlalchemy() -> None:
    probe = (
        "import sys; from paved_gateway.app import create_app; "
        "from paved_gateway.settings import GatewaySettings; "
        "create_app(GatewaySettings.model_validate({})); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'alembic')))"
    )

    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("name", ["catalog", "provisioning", "policy", "cost", "gateway"])
def test_importing_a_service_does_not_import_rich(name: str) -> None:
    # structlog would load rich and pygments for pretty tracebacks no service renders. (alerting's
    # webhooks need httpx at import, and httpx loads its command line, rich included, with it.)
    probe = (
        f"import sys; import paved_{name}.__main__; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'rich', 'pygments'}))"
    )

    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"


def test_rich_stays_importable_after_structlog() -> None:
    probe = "import paved_kit, structlog, rich.table; print(structlog.dev.ConsoleRenderer is not None)"

    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "True"


def test_importing_alerting_does_not_import_statsmodels() -> None:
    # Forecasts and anomaly scoring load statsmodels (scipy, pandas) when they first run, not at start-up.
    probe = (
        "import sys; import paved_alerting.__main__; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'statsmodels', 'scipy', 'pandas'}))"
    )

    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"
