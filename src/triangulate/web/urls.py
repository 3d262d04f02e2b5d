from django.urls import path, re_path

from . import api, plan, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("link-quality/", views.link_quality, name="link-quality"),
    path("screening/", views.screening, name="screening"),
    re_path(r"^screening/result/(?P<token>[A-Za-z0-9_-]+)\.csv$", views.screening_download, name="screening-result"),
    path("admin/audit/", views.audit_log, name="audit"),
    path("admin/audit.csv", views.audit_export, name="audit-export"),
    path("admin/users/", views.users, name="users"),
    re_path(r"^chart/(?P<slug>[a-z_]+)(?:-(?P<index>[1-9][0-9]?))?\.svg$", views.chart_svg, name="chart"),
    re_path(r"^chart/(?P<slug>[a-z_]+)(?:-(?P<index>[1-9][0-9]?))?\.json$", views.chart_json, name="chart-json"),
    re_path(r"^export/(?P<name>[a-z_]+)\.(?P<fmt>csv|xlsx)$", views.export, name="export"),
    path("provision/plan/", plan.save, name="plan-save"),
    re_path(r"^provision/plan\.(?P<fmt>csv|xlsx|json)$", plan.export, name="plan-export"),
    # The Open Referral UK API: open data, no login (web/api.py).
    path("api/", api.root, name="api"),
    path("api/openapi.json", api.openapi, name="api-openapi"),
    path("api/services", api.services, name="api-services"),
    path("api/services/<str:id>", api.service, name="api-service"),
    path("api/taxonomies", api.taxonomies, name="api-taxonomies"),
    path("api/taxonomies/<str:id>", api.taxonomy, name="api-taxonomy"),
    path("api/taxonomy_terms", api.taxonomy_terms, name="api-taxonomy-terms"),
    path("api/taxonomy_terms/<str:id>", api.taxonomy_term, name="api-taxonomy-term"),
    path("glossary/", views.glossary, name="glossary"),
    path("<slug:slug>/", views.page, name="page"),
]
