"""Reads about accounts: invitation links, and whose password a family admin may set."""

from __future__ import annotations

import hashlib

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet

from gallery.models import Family, Invite, Membership

User = get_user_model()


def username_taken(username: str) -> str:
    """The account name `username` would be stored as (stripped, NFKC as Django stores it) when an account has it,
    letter case aside; "" when it is free."""
    name = User.normalize_username(username.strip())
    return name if name and User.objects.filter(username__iexact=name).exists() else ""


def username_taken_error(name: str) -> ValidationError:
    return ValidationError(f"The username “{name}” is taken.", code="username_taken")


def family_invites(*, family: Family) -> QuerySet[Invite]:
    """A family's links, newest first, for its admins (the caller checks that the user is one); each knows whether its
    maker still vouches for it (invites_with_maker_vouching), so an open link they no longer do reads withdrawn."""
    return invites_with_maker_vouching(family.invites.select_related("created_by", "used_by")
                                       .order_by("-created_at", "-id"))


def invite_token_hash(token: str) -> str:
    """What is stored of a link's token. The token carries 256 random bits, so a plain SHA-256 suffices:
    there is nothing to guess, only a database copy that must not give working links away."""
    return hashlib.sha256(token.encode()).hexdigest()


def invite_of_token(token: str) -> QuerySet[Invite]:
    """The link of `token` (one row or none), with its family and maker, knowing whether its maker vouches for it:
    what its page and its use read (invite_problem, through Invite.state)."""
    return invites_with_maker_vouching(Invite.objects.select_related("family", "created_by")
                                       .filter(token_hash=invite_token_hash(token)))


def invites_with_maker_vouching(invites: QuerySet[Invite]) -> QuerySet[Invite]:
    """The links annotated `maker_vouches`: their maker is an admin of their family who can sign in, and has been in
    it, and its admin, since before the link was made (as AlbumShare.objects.with_maker_vouching reads a share link's
    maker, in the family), the rule invite_problem applies when a link is used (Invite.state reads it). What withdraws
    a maker's links as they stop being one may miss a link whose row committed after it looked (a race), or not run at
    all (a shell): a link made before its maker left, or was demoted, then stays withdrawn when they are invited back
    or made an admin again (a membership, an admin_since, of later)."""
    return invites.annotate(maker_vouches=Exists(Membership.objects.filter(
        family_id=OuterRef("family_id"), user_id=OuterRef("created_by_id"), role=Membership.Role.ADMIN,
        user__is_active=True, joined_at__lte=OuterRef("created_at"), admin_since__lte=OuterRef("created_at"))))


def password_settable_users(*, actor: AbstractBaseUser) -> QuerySet:
    """Accounts whose password `actor` may set: every family they are in (at least one) is administered by
    `actor`. Never the actor (they change their own with the old one), never staff or superusers (site
    accounts are not a family matter)."""
    if not actor.is_authenticated:
        return User.objects.none()
    administered = Membership.objects.filter(user=actor, role=Membership.Role.ADMIN).values("family_id")
    elsewhere = Membership.objects.exclude(family_id__in=administered).values("user_id")
    return (
        User.objects.filter(memberships__family_id__in=administered, is_staff=False, is_superuser=False)
        .exclude(pk=actor.pk)
        .exclude(pk__in=elsewhere)
        .distinct()
    )


def member_password_problem(*, actor: AbstractBaseUser, user: AbstractBaseUser) -> str:
    """Why `actor` may not set `user`'s password, in one sentence ("" when they may)."""
    if password_settable_users(actor=actor).filter(pk=user.pk).exists():
        return ""
    if user.pk == actor.pk:
        return "Change your own password from the account menu."
    if user.is_staff or user.is_superuser:
        return f"{user} is a site administrator: only they (or a superuser) can change that password."
    return (f"{user} is also in a family you don't administer, so only they can change their password "
            "(or an admin of every family they are in).")
