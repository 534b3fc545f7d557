"""Great Expectations on BigQuery connects with the platform's configured credentials.

GE builds its SQLAlchemy engine from a URL it stores in its file context, and sqlalchemy-bigquery then
builds its own client: from a key file or key in the URL, or else from the machine's default Google
credentials. Neither fits one warehouse configuration (a key must not be written into GE's YAML, and the
default credentials are used only when configured), so sqlalchemy-bigquery's client factory is pointed at
`warehouse.bigquery` for this process: the same project, location, credentials and endpoint as dlt and dbt.
"""

from __future__ import annotations

from warehouse import Settings


def install(settings: Settings) -> None:
    from sqlalchemy_bigquery import _helpers

    config = settings.bigquery

    def create_bigquery_client(*, default_query_job_config=None, **_ignored):
        return config.client(default_query_job_config=default_query_job_config)

    _helpers.create_bigquery_client = create_bigquery_client
