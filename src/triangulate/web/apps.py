from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "triangulate.web"
    label = "triangulate_web"
    verbose_name = "Triangulate dashboard"
    default_auto_field = "django.db.models.BigAutoField"
