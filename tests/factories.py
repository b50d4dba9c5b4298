from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from gallery.models import Family, Membership, Photo
from gallery.services import UploadResult, photo_create_from_bytes
from tests.images import jpeg


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct horse battery")


class FamilyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Family

    name = factory.Sequence(lambda n: f"Family {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    family = factory.SubFactory(FamilyFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.MEMBER


_colour_counter = iter(range(1, 10**9))


def photo_factory(*, family: Family, user=None, data: bytes | None = None, filename: str = "photo.jpg", **kwargs) -> Photo:
    """A real stored photo made through the upload service (unique bytes unless `data` is given)."""
    if data is None:
        n = next(_colour_counter)
        data = jpeg(colour=(n * 37 % 256, n * 91 % 256, n * 13 % 256), size=(40 + n % 50, 30))
    result = photo_create_from_bytes(family=family, uploaded_by=user, data=data, filename=filename, **kwargs)
    assert result.outcome == UploadResult.SAVED, result
    return result.photo


def api_token_key(user, label: str = "tests") -> str:
    """A working API token's key for `user` (what POST /api/v1/auth/token/ returns), made without the endpoint."""
    from gallery.tokens import api_token_create

    return api_token_create(user=user, label=label)[1]
