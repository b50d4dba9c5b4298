"""Writes about accounts: invitation links to a family, and passwords a family admin sets for a member.

Invitations are the only way a family admin brings someone in: the invitee chooses their own username and
password (or joins with the account they are signed in with), so no admin ever types or knows another
person's password, and no one is put in a family without opening its link."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from gallery.account_selectors import invite_of_token, invite_token_hash, member_password_problem
from gallery.models import DeletedFamilyInvite, Family, Invite, Membership
from gallery.services import (
    DELETED, families_of, families_of_lock, family_lock, family_lookalike, invites_withdraw_made_by, membership_add,
    membership_hold, shares_withdraw_made_by, user_create, users_activate_problems, users_deactivate_problems,
)

User = get_user_model()


@dataclass(frozen=True)
class NewInvite:
    invite: Invite
    token: str  # the only copy: shown once to the admin, then gone


class InviteUnusable(ValidationError):
    """The link exists no more (unknown token, its family deleted) or no longer works (used, revoked, expired)."""

    def __init__(self, message: str, *, state: str):
        super().__init__(message)
        self.state = state


UNKNOWN = "unknown"
FAMILY_DELETED = "family_deleted"


@transaction.atomic
def invite_create(*, family: Family, created_by: AbstractBaseUser, role: str = Membership.Role.MEMBER,
                  note: str = "") -> NewInvite:
    """A link to `family` made by `created_by`, an admin of it who can sign in.

    Their membership is held first, as share_create holds it: a removal, a step-down, their account made inactive or
    the family's deletion meanwhile waits for the new link, then withdraws it with their others; one that came first
    is seen, and no link is made (else the link outlived it, read withdrawn only while they were no admin, and let
    people in again once they were one)."""
    if role not in Membership.Role.values:
        raise ValidationError(f"Unknown role “{role}”.")
    held = membership_hold(family_id=family.pk, user=created_by)
    # Read after the hold: a step-down or a deactivation that came first is committed.
    if not held or not Membership.objects.filter(family_id=family.pk, user_id=created_by.pk, role=Membership.Role.ADMIN,
                                                 user__is_active=True).exists():
        raise PermissionDenied("You are no longer an admin of this family who can sign in: no link was made.")
    token = secrets.token_urlsafe(32)
    invite = Invite.objects.create(
        family=family, role=role, note=note.strip(), token_hash=invite_token_hash(token), created_by=created_by,
        expires_at=timezone.now() + timedelta(days=settings.INVITE_DAYS),
    )
    return NewInvite(invite=invite, token=token)


@transaction.atomic
def invite_revoke(*, invite: Invite) -> Invite:
    """Withdraw an open link (the family page). One used is refused; one gone meanwhile (the sweep deletes links over
    for INVITE_KEEP_DAYS, a family's deletion its links) too, saying so (code DELETED)."""
    invite = Invite.objects.select_for_update().filter(pk=invite.pk).first()
    if invite is None:
        raise ValidationError("This invitation link no longer exists.", code=DELETED)
    if invite.used_at:
        raise ValidationError("This link has already been used: remove the member instead.")
    if not invite.revoked_at:
        invite.revoked_at = timezone.now()
        invite.save(update_fields=["revoked_at"])
    return invite


def invite_problem(invite: Invite | None, *, token: str) -> InviteUnusable | None:
    """Why the link of `token` (whose row is `invite`, read with invite_of_token: None when there is none) can't be
    used, in words its holder understands (None when it can)."""
    # A family being deleted (its row kept while its photos go) says so of every link of it, used, withdrawn or expired
    # too (only open links' hashes are kept): it has no admin to ask, nor anyone to sign in as.
    if (invite.family.deleting_since if invite is not None else DeletedFamilyInvite.objects.filter(
            token_hash=invite_token_hash(token)).exists()):
        return InviteUnusable("The family this invitation was for was deleted.", state=FAMILY_DELETED)
    if invite is None:
        return InviteUnusable("This invitation link is not valid. Check that it was copied whole.", state=UNKNOWN)
    # Its maker named only while they may make another: one who left the family, was removed, stepped down or can no
    # longer sign in (made inactive) makes no links. Nor does what they made let anyone in (Invite.state reads it
    # withdrawn): the withdrawals as they stop being one do not run from a shell. Read in the query that locks the
    # link when it is used (_invite_lock), after its family's lock, so ordered against removals and step-downs.
    state = invite.state()
    if state == Invite.State.PENDING:
        return None
    inviter = (f" Ask {invite.created_by} for a new one." if invite.maker_vouches
               else " Ask the family's admin for a new one.")
    if state == Invite.State.USED:
        return InviteUnusable("This invitation link has already been used." + inviter, state=state)
    if state == Invite.State.REVOKED:
        return InviteUnusable("This invitation link was withdrawn." + inviter, state=state)
    if state == Invite.State.EXPIRED:
        return InviteUnusable("This invitation link has expired." + inviter, state=state)
    return None


def invite_links_prune() -> int:
    """The periodic sweep's share: delete the invitation links over (used, withdrawn, expired) for longer than
    INVITE_KEEP_DAYS, and what is kept of a deleted family's open links (DeletedFamilyInvite) as long after the
    deletion. Until then a link's page says what became of it (and takes a member who opens it to their family's
    page), after that it reads as any link that is not valid: rows no longer kept forever. How many went."""
    cutoff = timezone.now() - timedelta(days=settings.INVITE_KEEP_DAYS)
    # A link is over from the first of these (a use or withdrawal comes before the expiry it would have had).
    ended_long_ago = Q(used_at__lt=cutoff) | Q(revoked_at__lt=cutoff) | Q(expires_at__lt=cutoff)
    links, _ = Invite.objects.filter(ended_long_ago).delete()
    hashes, _ = DeletedFamilyInvite.objects.filter(deleted_at__lt=cutoff).delete()
    return links + hashes


def _invite_lock(token: str) -> Invite:
    """The link's row, locked until commit: of two submits of one link, the second waits, then finds it used.

    Its family's row is locked first, as every change of who is in a family does (family_lock): removing the admin
    who made the link locks the family, then withdraws the link, and the opposite order would deadlock with it."""
    family_id = Invite.objects.filter(token_hash=invite_token_hash(token)).values_list("family_id", flat=True).first()
    if family_id is not None:
        family_lock(family_id=family_id)
    invite = invite_of_token(token).select_for_update(of=("self",)).first()
    if problem := invite_problem(invite, token=token):
        raise problem
    return invite


def _invite_use(invite: Invite, user: AbstractBaseUser) -> Membership:
    membership = membership_add(family=invite.family, user=user, role=invite.role)
    invite.used_at = timezone.now()
    invite.used_by = user
    invite.save(update_fields=["used_at", "used_by"])
    return membership


@transaction.atomic
def invite_accept_new_account(*, token: str, username: str, password: str, email: str = "") -> Membership:
    """Create the invitee's account (username and password of their choosing) inside the invited family."""
    invite = _invite_lock(token)
    user = user_create(username=username, password=password, email=email)
    return _invite_use(invite, user)


@transaction.atomic
def invite_accept_existing(*, token: str, user: AbstractBaseUser) -> Membership:
    """Join the invited family with the account the invitee is signed in with."""
    invite = _invite_lock(token)
    _user_lock(user)
    if Membership.objects.filter(family=invite.family, user=user).exists():
        # The link stays unused: it may have been meant for someone else in the household.
        raise ValidationError(f"You are already in {invite.family}.")
    if lookalike := family_lookalike(family=invite.family, user=user):
        # (Said to the invitee alone: whoever made the link learns nothing of their other families.)
        raise ValidationError(f"You are already in a family called “{lookalike}”: the two would look just alike on "
                              "your pages. Ask whoever invited you to give theirs another name, then open this link "
                              "again.", code="same_name")
    return _invite_use(invite, user)


@transaction.atomic
def user_active_set(*, user: AbstractBaseUser, active: bool) -> AbstractBaseUser:
    """Make an account active or inactive (the Django admin's "Active" box, a script), held to the rule of who
    administers a family (admin_kept): refused, with a sentence for each family it would leave with no admin who can
    sign in, or sign in to with none (users_deactivate_problems, users_activate_problems). The check locks the
    account's families in id order (family_lock) until commit, so two such changes, or a removal or step-down, are
    ordered. Made inactive, the account's open links are withdrawn: an admin who can't sign in administers nothing,
    and a member who can't shares nothing of the family (their album share links)."""
    check = users_activate_problems if active else users_deactivate_problems
    if problems := check(users=[user]):
        raise ValidationError(problems)
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        invites_withdraw_made_by(user_ids=[user.pk])
        shares_withdraw_made_by(user_ids=[user.pk])
    return user


def _user_lock(user: AbstractBaseUser) -> None:
    """Serialise what changes a user's families against an admin setting their password (see below). Taken after the
    rows of the families concerned, as every path does (a link opened: its family, then the account; an account made
    inactive or deleted: its families, then its row): the other order deadlocks with them."""
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))


@transaction.atomic
def member_password_set(*, actor: AbstractBaseUser, user: AbstractBaseUser, password: str) -> None:
    """A family admin sets a new password for a member whose only families are ones the admin administers.

    The check runs under locks: each of the member's families (the admin may be demoted meanwhile), then the member's
    row (an invitation accepted meanwhile would add a family the admin may not administer). A family they joined
    between the two (not locked: locking it now, after the account, could deadlock) is refused, to try again; one
    they left meanwhile needs nothing (the check reads the families they are in)."""
    locked = families_of_lock(user_ids=[user.pk])
    _user_lock(user)
    if set(families_of(user_ids=[user.pk])) - set(locked):
        raise PermissionDenied(f"{user} joined a family while you were setting their password: try again.")
    user.refresh_from_db()
    if problem := member_password_problem(actor=actor, user=user):
        raise PermissionDenied(problem)
    validate_password(password, user=user)
    user.set_password(password)
    user.save(update_fields=["password"])
    # A new password means the old ways in stop working: sessions end by Django's session hash, API tokens here.
    from gallery.tokens import api_tokens_revoke_all

    api_tokens_revoke_all(user=user)
