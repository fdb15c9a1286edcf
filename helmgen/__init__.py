"""helmgen: one short agent spec in, a production-grade Helm chart out."""

__version__ = "0.1.0"
SPEC_API_VERSIONS = ("agentgen/v1",)
