"""Pages of the interventions app: loans. Mounted by interventions/urls.py."""

from __future__ import annotations

from django.urls import URLPattern, path

from .views import loans as views

urlpatterns: list[URLPattern] = [
    path("loans/", views.loan_list, name="loan-list"),
    path("loans/new/", views.loan_start, name="loan-start"),
    path("loans/new/<int:household_pk>/", views.loan_create, name="loan-create"),
    path("loans/<int:pk>/", views.loan_detail, name="loan-detail"),
    path("loans/<int:pk>/repay/", views.loan_repay, name="loan-repay"),
    path("loans/<int:pk>/write-off/", views.loan_write_off, name="loan-write-off"),
    path("loans/<int:pk>/schedule/", views.loan_schedule_print, name="loan-schedule-print"),
    path("loans/products/", views.product_list, name="loan-product-list"),
    path("loans/products/new/", views.product_create, name="loan-product-create"),
    path("loans/products/<int:pk>/edit/", views.product_edit, name="loan-product-edit"),
    path("loans/portfolio/", views.portfolio, name="loan-portfolio"),
]
