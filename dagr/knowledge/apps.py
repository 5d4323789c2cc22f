from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "dagr.knowledge"
    label = "knowledge"
    verbose_name = "Knowledge base"
