"""Imported by ``dagr`` child processes (``DAGR_CONNECTOR_SOURCE_MODULES``): the memory source."""

from dagr.connectors.sources import register_source
from tests.connectors.memory import register

register_source("memory", register)
