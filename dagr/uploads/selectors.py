from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from dagr.catalog.models import Dataset
from dagr.catalog.selectors import dataset_get_visible
from dagr.core.errors import NotFound, PermissionDenied
from dagr.permissions import rules

from .models import UploadedFile


def dataset_for_loading(*, actor: Any, code: str) -> Dataset:
    """A dataset the actor may load: hidden ones are 404, visible but not theirs 403."""
    dataset = dataset_get_visible(actor=actor, code=code)
    if not rules.can_edit_dataset(actor, dataset):
        raise PermissionDenied(_("You may not load data into this dataset."))
    return dataset


def upload_list(*, dataset: Dataset) -> QuerySet[UploadedFile]:
    return UploadedFile.objects.filter(dataset=dataset).select_related("uploaded_by", "load")


def upload_get_for(*, actor: Any, pk: int) -> UploadedFile:
    upload = UploadedFile.objects.select_related("dataset", "dataset__schema", "load").filter(pk=pk)
    found = upload.first()
    if found is None or not rules.can_edit_dataset(actor, found.dataset):
        raise NotFound(_("No such uploaded file."), code="upload_not_found")
    return found
