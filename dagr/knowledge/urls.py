from django.urls import path

from . import views

app_name = "knowledge"

urlpatterns = [
    path("", views.index, name="index"),
    path("search/", views.search, name="search"),
    path("manage/", views.manage_list, name="manage"),
    path("manage/new/", views.article_create, name="create"),
    path("manage/preview/", views.preview, name="preview"),
    path("manage/feedback/", views.feedback_list, name="feedback"),
    path("manage/images/", views.images, name="images"),
    path("manage/<slug:slug>/", views.article_edit, name="edit"),
    path("manage/<slug:slug>/versions/", views.versions, name="versions"),
    path("manage/<slug:slug>/diff/", views.diff, name="diff"),
    path("manage/<slug:slug>/revert/<int:version>/", views.revert, name="revert"),
    path("images/<int:pk>/", views.image, name="image"),
    path("<slug:slug>/", views.article, name="article"),
    path("<slug:slug>/feedback/", views.feedback, name="feedback_create"),
]
