from django.urls import path

from bare import views

urlpatterns = [
    path("items", views.ItemCreateView.as_view()),
    path("items/<int:pk>", views.ItemDetailView.as_view()),
    path("items/<int:pk>/incr", views.ItemIncrementView.as_view()),
]
