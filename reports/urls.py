from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("sla/", views.sla, name="sla"),
]
