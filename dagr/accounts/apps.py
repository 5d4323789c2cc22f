from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "dagr.accounts"
    label = "accounts"
    verbose_name = "Accounts"
