from django.urls import path

from .views import home

app_name = "applications"

urlpatterns = [
    path("", home.home, name="home"),
    # --- apply and documents (views/apply.py, views/documents.py) ---
    # --- timeline, offer, track (views/timeline.py, views/offer.py, views/track.py) ---
]
