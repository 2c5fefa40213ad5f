"""The dealer's webhooks page, mounted at ``/dealer/webhooks/`` (``loanportal/urls.py``)."""

from django.urls import path

from . import views

app_name = "dealer_webhooks"

urlpatterns = [
    path("", views.endpoint_list, name="list"),
    path("new/", views.endpoint_create, name="create"),
    path("<int:pk>/rotate/", views.endpoint_rotate, name="rotate"),
    path("<int:pk>/active/", views.endpoint_set_active, name="set_active"),
    path("deliveries/<int:pk>/send-again/", views.delivery_send_again, name="send_again"),
]
