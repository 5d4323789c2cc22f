# Stub: the catalogue capability fills these views in.
from django.http import HttpResponse
from django.urls import path

from dagr.permissions.access import public


@public
def _todo(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse("todo")


app_name = "catalog"
urlpatterns = [
    path("", _todo, name="index"),
    path("new/", _todo, name="dataset_create"),
    path("<slug:code>/", _todo, name="dataset"),
    path("<slug:code>/manage/", _todo, name="dataset_manage"),
]
