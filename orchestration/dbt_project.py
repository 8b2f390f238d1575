"""The dbt project as Dagster sees it.

Kept in its own module because `@dbt_assets` reads target/manifest.json when
its module is imported: `make prepare` (dagster-dbt project prepare-and-package)
writes the manifest, and `dagster dev` refreshes it through prepare_if_dev().
"""

from dagster_dbt import DbtProject

from orchestration.settings import DBT_PROJECT_DIR

agentledger_dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR)
agentledger_dbt_project.prepare_if_dev()
