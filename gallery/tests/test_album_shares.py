"""Share links: who may make them, read-only pages for anyone holding the link, expiry, revocation, password (with
no oracle), originals only when allowed, and nothing of the family leaking: no other photo, no family or member
name, no file name, no raw media path."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from gallery.album_services import album_add_photos, album_create, share_create, share_revoke
from gallery.models import AlbumShare
from tests.factories import photo_factory

pytestmark = pytest.mark.django_db


@pytest.fixture
def photos(family, alice):
    return [photo_factory(family=family, user=alice, filename=f"smith-secret-{n}.jpg") for n in range(3)]


@pytest.fixture
def album(family, alice, photos):
    album = album_create(user=alice, family=family, name="Wedding")
    album_add_photos(user=alice, album=album, photo_ids=[photos[0].pk, photos[1].pk])
    return album


def _share(album, user, **kwargs):
    made = share_create(user=user, album=album, days=kwargs.pop("days", 7), **kwargs)
    return made.share, made.token


def _urls(token, pk):
    return [reverse(name, args=[token, pk]) for name in ("shared_photo", "shared_thumbnail", "shared_display")]


def test_a_visitor_sees_the_album_and_nothing_of_the_family(album, alice, bob, photos, family):
    share, token = _share(album, alice)
    visitor = Client()
    body = visitor.get(reverse("shared_album", args=[token])).content.decode()
    assert "Wedding" in body and "2 photos" in body
    for leak in (family.name, alice.username, bob.username, "smith-secret", "/media/", "/photos/%d/" % photos[2].pk,
                 reverse("search:search"), 'href="' + reverse("gallery:timeline") + '"'):
        assert leak not in body, leak
    shown = {int(pk) for pk in re.findall(r"/shared/[^/]+/photos/(\d+)/", body)}
    assert shown == {photos[0].pk, photos[1].pk}
    for pk in shown:
        for url in _urls(token, pk):
            response = visitor.get(url)
            assert response.status_code == 200, url
            assert response["Referrer-Policy"] == "same-origin" and "no-store" in response["Cache-Control"]
    page = visitor.get(reverse("shared_photo", args=[token, photos[0].pk])).content.decode()
    assert "1 of 2" in page and family.name not in page and alice.username not in page and "smith-secret" not in page
    # Another photo of the same family, through the link: as missing as a photo that does not exist.
    for url in _urls(token, photos[2].pk) + _urls(token, 99999999):
        assert visitor.get(url).status_code == 404
    # The family's own media URLs still need an account.
    assert visitor.get(photos[0].thumbnail_url).status_code == 302


def test_a_visitors_photos_are_named_by_their_number_not_the_stored_files_hash(album, alice, photos):
    """The thumbnail and the large photo a visitor's browser shows were named (Content-Disposition, "Save image as")
    after the stored file: the SHA-256 of the original's bytes, through a link that shares no original. They are
    photo-<id>.jpg, as a downloaded original is photo-<id>.<ext>."""
    from gallery.models import Photo

    _, token = _share(album, alice)
    photo = Photo.objects.get(pk=photos[0].pk)
    visitor = Client()
    for name in ("shared_thumbnail", "shared_display"):
        response = visitor.get(reverse(name, args=[token, photo.pk]))
        assert response.status_code == 200
        disposition = response.get("Content-Disposition", "")
        assert photo.sha256 not in disposition, name
        assert disposition.startswith("inline") and f"photo-{photo.pk}.jpg" in disposition, name
        # HEAD (a link checker's, `curl -I`) answers as GET does, no body (it was 405).
        head = visitor.head(reverse(name, args=[token, photo.pk]))
        assert head.status_code == 200 and head["Content-Disposition"] == disposition, name
    assert visitor.head(reverse("shared_thumbnail", args=[token, 99999999])).status_code == 404


def test_originals_only_when_the_link_allows_them(album, alice, photos):
    _, closed = _share(album, alice)
    _, open_ = _share(album, alice, allow_download=True)
    visitor = Client()
    assert visitor.get(reverse("shared_original", args=[closed, photos[0].pk])).status_code == 404
    assert "Download original" not in visitor.get(reverse("shared_photo", args=[closed, photos[0].pk])).content.decode()
    response = visitor.get(reverse("shared_original", args=[open_, photos[0].pk]))
    assert response.status_code == 200
    assert f"photo-{photos[0].pk}.jpg" in response["Content-Disposition"] and "smith" not in response["Content-Disposition"]


def test_revoked_expired_and_made_up_links_are_the_same_404(album, alice, photos):
    share, token = _share(album, alice)
    old, old_token = _share(album, alice)
    AlbumShare.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    visitor = Client()
    assert visitor.get(reverse("shared_album", args=[token])).status_code == 200
    share_revoke(user=alice, share=share)
    pages = set()
    for link in (token, old_token, "made-up-token", token[:-1]):
        page = visitor.get(reverse("shared_album", args=[link]))
        assert page.status_code == 404
        pages.add(re.sub(r'"X-CSRFToken": "[^"]*"', "", page.content.decode()))  # a per-request token
        for url in _urls(link, photos[0].pk):
            assert visitor.get(url).status_code == 404
    # One page for all of them (no oracle), and it speaks to a visitor holding a link, not to a member.
    assert len(pages) == 1
    page = pages.pop()
    assert "This link doesn’t work any more" in page and "any of your families" not in page


def test_a_photo_taken_out_of_the_album_is_gone_from_the_link_at_once(album, alice, photos):
    from gallery.album_services import album_remove_photos

    _, token = _share(album, alice)
    album_remove_photos(user=alice, album=album, photo_ids=[photos[0].pk])
    assert Client().get(reverse("shared_thumbnail", args=[token, photos[0].pk])).status_code == 404


def test_deleting_the_album_ends_its_links(album, alice):
    from gallery.album_services import album_delete

    _, token = _share(album, alice)
    album_delete(user=alice, album=album)
    assert Client().get(reverse("shared_album", args=[token])).status_code == 404


def test_password_protected_link(album, alice, photos, settings):
    settings.SHARE_PASSWORD_TRIES = 3
    share, token = _share(album, alice, password="open sesame")
    assert share.password_hash and "open sesame" not in share.password_hash
    visitor = Client()
    url = reverse("shared_album", args=[token])
    locked = visitor.get(url).content.decode()
    assert "protected" in locked and "Wedding" not in locked
    for media in _urls(token, photos[0].pk)[1:]:
        assert visitor.get(media).status_code == 404
    # A photo's page (a link someone passed on) sends the visitor to the album page for the password.
    photo_page = visitor.get(reverse("shared_photo", args=[token, photos[0].pk]))
    assert photo_page.status_code == 302 and photo_page.url == url
    wrong = visitor.post(url, {"password": "guess"})
    assert wrong.status_code == 403 and "not the password" in wrong.content.decode()
    assert visitor.post(url, {"password": "open sesame"}).status_code == 302
    assert "Wedding" in visitor.get(url).content.decode()
    assert visitor.get(reverse("shared_thumbnail", args=[token, photos[0].pk])).status_code == 200
    # Another visitor (another session) is still locked out.
    assert "Wedding" not in Client().get(url).content.decode()


def test_password_guessing_stops_being_checked(album, alice, settings):
    settings.SHARE_PASSWORD_TRIES = 3
    _, token = _share(album, alice, password="open sesame")
    visitor = Client()
    url = reverse("shared_album", args=[token])
    for _ in range(3):
        assert "not the password" in visitor.post(url, {"password": "guess"}).content.decode()
    # Even the right password is not checked now: the answer can't tell a right guess from a wrong one.
    response = visitor.post(url, {"password": "open sesame"})
    assert response.status_code == 403 and "Too many" in response.content.decode()


def test_behind_a_proxy_one_visitors_guesses_do_not_lock_the_link_for_the_others(album, alice, settings):
    """The tries were counted per link and REMOTE_ADDR: behind nginx that is nginx's own address for every visitor,
    so one stranger's (or one grandparent's) wrong guesses stopped the password being checked for everyone the link
    was sent to. They are counted per client address now, as the sign-in lockout counts it (SIGNIN_PROXY_COUNT)."""
    settings.SHARE_PASSWORD_TRIES = 3
    settings.SIGNIN_PROXY_COUNT = 1
    _, token = _share(album, alice, password="open sesame")
    url = reverse("shared_album", args=[token])
    guesser = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.6.6.6")
    for _ in range(3):
        guesser.post(url, {"password": "guess"})
    assert "Too many" in guesser.post(url, {"password": "open sesame"}).content.decode()
    # A made-up header in front of what nginx appends changes nothing for the guesser.
    spoofed = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.1.1.1, 10.6.6.6")
    assert "Too many" in spoofed.post(url, {"password": "open sesame"}).content.decode()
    family_member = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.0.0.9")
    assert family_member.post(url, {"password": "open sesame"}).status_code == 302


def test_only_the_creator_or_an_admin_shares(family, alice, bob, photos):
    from tests.factories import MembershipFactory, UserFactory

    carol = UserFactory(username="carol")
    MembershipFactory(family=family, user=carol)
    bobs = album_create(user=bob, family=family, name="Bob's")
    _share(bobs, bob)
    _share(bobs, alice)
    with pytest.raises(PermissionDenied):
        _share(bobs, carol)
    with pytest.raises(ValidationError):
        _share(bobs, bob, days=0)
    share, _ = _share(bobs, bob)
    with pytest.raises(PermissionDenied):
        share_revoke(user=carol, share=share)


def test_the_share_page_shows_the_link_once_and_revokes(client_for, album, alice):
    client = client_for(alice)
    url = reverse("gallery:album_shares", args=[album.pk])
    body = client.post(url, {"days": 3, "note": "for grandma", "password": ""}).content.decode()
    link = re.search(r'value="(http://testserver/shared/[^"]+/)"', body).group(1)
    assert Client().get(link).status_code == 200
    again = client.get(url).content.decode()
    assert link not in again and "for grandma" in again
    share = album.shares.get()
    client.post(reverse("gallery:album_share_revoke", args=[album.pk, share.pk]))
    assert Client().get(link).status_code == 404
    assert client.post(url, {"days": 9999}).status_code == 200  # a plain form error
    assert album.shares.count() == 1


def test_a_revoke_refused_for_rights_goes_back_to_the_album_with_the_reason(client_for, album, alice, bob):
    """An admin made a plain member with the share page open presses Revoke: refused, they were sent back to the
    share page, which is not theirs now, and landed on a "Not allowed" error page. They go to the album with why."""
    share, token = _share(album, alice)
    response = client_for(bob).post(reverse("gallery:album_share_revoke", args=[album.pk, share.pk]), follow=True)
    assert response.status_code == 200 and response.redirect_chain[-1][0] == album.get_absolute_url()
    assert "Only the album&#x27;s creator or a family admin can do that." in response.content.decode()
    assert Client().get(reverse("shared_album", args=[token])).status_code == 200


def test_a_shared_smart_album_shows_only_its_familys_matches(family, alice, other_family, mallory, photos):
    """Without the model, a smart album's search runs on metadata: the Joneses' photo titled the same stays out."""
    from gallery.services import photo_update

    theirs = photo_factory(family=other_family, user=mallory)
    photo_update(photo=theirs, title="wedding cake")
    photo_update(photo=photos[2], title="wedding cake")
    smart = album_create(user=alice, family=family, name="Cakes", search={"q": "wedding cake", "min_score": 0})
    _, token = _share(smart, alice)
    visitor = Client()
    body = visitor.get(reverse("shared_album", args=[token])).content.decode()
    shown = {int(pk) for pk in re.findall(r"/shared/[^/]+/photos/(\d+)/", body)}
    assert photos[2].pk in shown and theirs.pk not in shown
    assert visitor.get(reverse("shared_thumbnail", args=[token, theirs.pk])).status_code == 404


def test_a_photo_no_longer_in_a_working_link_says_so_to_the_visitor_not_the_members_404(album, alice, photos):
    """A photo taken out of the album (or trashed) while a visitor had its page open, a step of the viewer onto it, a
    link to it passed on: with the link still working, its page was the members' 404 ("Sign in", "not in any of
    your families", "Back to the photos" of a timeline the visitor can't see). It says the photo is not (or no
    longer) in the shared album, with the way back to it; as missing as any other id, the page is the same for
    both."""
    from gallery.album_services import album_remove_photos

    _, token = _share(album, alice)
    album_remove_photos(user=alice, album=album, photo_ids=[photos[0].pk])
    visitor = Client()
    for photo_id in (photos[0].pk, photos[2].pk, 2**31):  # taken out, never in, no photo at all
        response = visitor.get(reverse("shared_photo", args=[token, photo_id]))
        body = response.content.decode()
        assert response.status_code == 404
        assert "not in this shared album" in body and reverse("shared_album", args=[token]) in body
        assert "families" not in body and "Sign in" not in body and "Smith" not in body
        assert "taken out of “Wedding”" in body  # the same words for all three: no oracle


def test_a_photo_moved_to_the_trash_is_gone_from_the_link(album, alice, photos):
    from gallery.trash_services import photos_trash

    _, token = _share(album, alice)
    photos_trash(user=alice, photo_ids=[photos[0].pk])
    visitor = Client()
    body = visitor.get(reverse("shared_album", args=[token])).content.decode()
    assert f"/photos/{photos[0].pk}/" not in body and "1 photo" in body
    for url in _urls(token, photos[0].pk):
        assert visitor.get(url).status_code == 404


def test_a_shared_album_is_shown_a_page_at_a_time(family, alice, settings):
    settings.GALLERY_PAGE_SIZE = 2
    settings.ALBUM_MAX_PHOTOS = 2  # a smart album's cap: a plain album shows all of its photos, page by page
    photos = [photo_factory(family=family, user=alice, filename=f"s{n}.jpg") for n in range(3)]
    album = album_create(user=alice, family=family, name="Trip")
    album_add_photos(user=alice, album=album, photo_ids=[p.pk for p in photos])
    _, token = _share(album, alice)
    visitor = Client()
    url = reverse("shared_album", args=[token])
    body = visitor.get(url).content.decode()
    assert "3 photos" in body
    assert [int(pk) for pk in re.findall(r'class="tile" id="photo-(\d+)"', body)] == [photos[0].pk, photos[1].pk]
    assert re.search(r'<a class="more" href="\?page=2"\s+hx-get="\?page=2"', body)
    partial = visitor.get(url + "?page=2", headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode() and partial["Cache-Control"] == "private, no-store"
    assert [int(pk) for pk in re.findall(r'class="tile" id="photo-(\d+)"', partial.content.decode())] == [photos[2].pk]
    assert 'alt="Photo 3"' in partial.content.decode()
    # Back from the last photo: to the page it is on.
    page = visitor.get(reverse("shared_photo", args=[token, photos[2].pk])).content.decode()
    assert "3 of 3" in page and f'href="{url}?page=2#photo-{photos[2].pk}"' in page


def test_a_photo_page_of_an_ended_link_says_the_link_ended(album, alice, photos):
    """A photo's page is a page a visitor follows a link to (a step of the viewer, a link passed on): an ended link
    there said what the members' 404 says (of families); it says the link ended, as the album page does, and a
    step of the viewer (HTMX) goes there whole."""
    share, token = _share(album, alice)
    photo_page = reverse("shared_photo", args=[token, photos[0].pk])
    share_revoke(user=alice, share=share)
    visitor = Client()
    gone = visitor.get(photo_page)
    assert gone.status_code == 404 and "doesn’t work any more" in gone.content.decode()
    stepped = visitor.get(photo_page, headers={"HX-Request": "true"})
    assert stepped["HX-Redirect"] == reverse("shared_album", args=[token])


def test_a_link_locked_or_ended_while_a_visitor_scrolls_sends_the_whole_page_there(album, alice):
    """The next page is fetched by HTMX into the grid: the password page (or the "link ended" page) must not be
    swapped in there as if it were photos; the browser goes to the link's own page instead."""
    share, token = _share(album, alice, password="open sesame")
    url = reverse("shared_album", args=[token])
    visitor = Client()  # never unlocked (or a session whose unlock the new password ended)
    response = visitor.get(url + "?page=2", headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == url and b"protected" not in response.content
    share_revoke(user=alice, share=share)
    response = visitor.get(url + "?page=2", headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == url
    assert visitor.get(url).status_code == 404  # the page itself says the link ended


def test_a_member_who_leaves_or_is_removed_keeps_no_share_link_into_the_family(family, alice, bob, photos, client_for):
    """A share link made by a member stops working when they leave the family or an admin removes them (as the
    invitation links they made do): otherwise an ex-member keeps the album's photos and originals by a link only they
    hold, and no longer in the family, they can't even revoke it. Links others made of their albums keep working."""
    from gallery.services import membership_add, users_delete

    own = album_create(user=bob, family=family, name="Bob's picnic")
    album_add_photos(user=bob, album=own, photo_ids=[photos[0].pk])
    bobs, bobs_token = _share(own, bob, allow_download=True)
    alices, alices_token = _share(own, alice)
    visitor = Client()
    assert visitor.get(reverse("shared_album", args=[bobs_token])).status_code == 200

    response = client_for(alice).post(reverse("gallery:member_remove", args=[family.pk, bob.pk]), follow=True)
    assert "1 share link" in response.content.decode()
    for url in (reverse("shared_album", args=[bobs_token]), reverse("shared_download", args=[bobs_token]),
                reverse("shared_original", args=[bobs_token, photos[0].pk])):
        assert visitor.get(url).status_code == 404, url
    bobs.refresh_from_db()
    assert bobs.state() == AlbumShare.State.REVOKED
    assert visitor.get(reverse("shared_album", args=[alices_token])).status_code == 200  # an admin's link stays

    # Leaving of one's own accord does the same.
    carol = type(bob).objects.create_user("carol", password="x")
    membership_add(family=family, user=carol)
    carols, carols_token = _share(album_create(user=carol, family=family, name="Carol's"), carol)
    response = client_for(carol).post(reverse("gallery:family_leave", args=[family.pk]), follow=True)
    assert "the 1 share link you made of its albums no longer works" in response.content.decode()
    assert visitor.get(reverse("shared_album", args=[carols_token])).status_code == 404

    # So does deleting an account (the link's maker becomes nobody).
    daves_family_member = type(bob).objects.create_user("dave", password="x")
    membership_add(family=family, user=daves_family_member)
    _, daves_token = _share(album_create(user=daves_family_member, family=family, name="Dave's"), daves_family_member)
    users_delete(users=type(bob).objects.filter(pk=daves_family_member.pk))
    assert visitor.get(reverse("shared_album", args=[daves_token])).status_code == 404


def test_a_share_link_works_only_while_its_maker_is_in_the_family_and_can_sign_in(family, alice, bob, photos,
                                                                                   client_for):
    """bob's link of his album kept working once his account was made inactive (the Django admin's "Active" box,
    user_active_set), and so did a link whose maker stopped being one of the family without the withdrawals running (an
    account made inactive from a shell, a membership row deleted by hand). A link counts only while its maker is in the
    album's family, has been since it was made, and can sign in, as an invitation link counts only while its maker
    vouches for it: the visitor's pages are the same 404 as any ended link (never a 500), the album's share page and
    the API read it withdrawn. A link only its maker's absence ends says so on the share page, with "Withdraw for good"
    (else it would work again should its maker be made active again); a link made before its maker left stays ended
    when they are back in the family; made inactive through the service, the link is withdrawn for good."""
    from gallery.account_services import user_active_set
    from gallery.models import Membership

    User = type(bob)
    own = album_create(user=bob, family=family, name="Picnic")
    album_add_photos(user=bob, album=own, photo_ids=[photos[0].pk])
    visitor = Client()

    def share_row(note: str) -> str:
        page = client_for(alice).get(reverse("gallery:album_shares", args=[own.pk])).content.decode()
        return next(row for row in re.findall(r"<tr>(.*?)</tr>", page, re.S) if note in row)

    def reads_withdrawn(token: str, note: str) -> bool:
        for url in (reverse("shared_album", args=[token]), reverse("shared_download", args=[token]),
                    reverse("shared_original", args=[token, photos[0].pk])):
            assert visitor.get(url).status_code == 404, url
        api = client_for(alice).get(f"/api/v1/albums/{own.pk}/shares/").json()
        return "Withdrawn" in share_row(note) and {s["note"]: s["state"] for s in api["results"]}[note] == "revoked"

    # Made inactive from a shell (no withdrawal runs): the link stops while it lasts, and works again with him.
    _, token = _share(own, bob, note="for grandma", allow_download=True)
    assert visitor.get(reverse("shared_album", args=[token])).status_code == 200
    User.objects.filter(pk=bob.pk).update(is_active=False)
    assert reads_withdrawn(token, "for grandma")
    assert "its maker is no longer in the family, or can't sign in" in html.unescape(share_row("for grandma"))
    assert "Withdraw for good<" in share_row("for grandma")
    User.objects.filter(pk=bob.pk).update(is_active=True)
    assert visitor.get(reverse("shared_album", args=[token])).status_code == 200

    # His membership deleted by hand: the same while he is out; back in the family, his old link stays ended.
    membership = Membership.objects.get(family=family, user=bob)
    Membership.objects.filter(pk=membership.pk).delete()
    assert reads_withdrawn(token, "for grandma")
    Membership.objects.create(family=family, user=bob, role=membership.role)
    assert reads_withdrawn(token, "for grandma")
    _, token = _share(own, bob, note="for grandpa", allow_download=True)
    assert visitor.get(reverse("shared_album", args=[token])).status_code == 200  # a link made since works

    # Withdrawn for good from the share page while he can't sign in: made active again, the link stays ended.
    User.objects.filter(pk=bob.pk).update(is_active=False)
    share = AlbumShare.objects.get(note="for grandpa")
    assert client_for(alice).post(reverse("gallery:album_share_revoke", args=[own.pk, share.pk])).status_code == 302
    User.objects.filter(pk=bob.pk).update(is_active=True)
    assert reads_withdrawn(token, "for grandpa")
    assert "Withdraw" not in share_row("for grandpa").replace("Withdrawn", "")

    # Made inactive through the service (the admin's "Active" box): withdrawn, and stays so when he is active again.
    _, token = _share(own, bob, note="for the neighbours", allow_download=True)
    user_active_set(user=User.objects.get(pk=bob.pk), active=False)
    user_active_set(user=User.objects.get(pk=bob.pk), active=True)
    assert reads_withdrawn(token, "for the neighbours")
    assert AlbumShare.objects.get(note="for the neighbours").revoked_at is not None


def test_the_share_page_says_who_made_each_link_so_an_admin_sees_why_a_leavers_stopped(family, alice, bob, photos,
                                                                                       client_for):
    """bob made grandma's link of the family's album, then left: the link stopped (above), and alice's share page
    listed "for grandma · Revoked", a link nobody she knew had withdrawn. Each link names who made it, as the family
    page's invitation links do ("someone gone" for a deleted account)."""
    from gallery.services import membership_remove, users_delete

    own = album_create(user=bob, family=family, name="Picnic")
    _share(own, bob, note="for grandma")
    _share(own, alice, note="for the neighbours")
    membership_remove(family=family, user=bob)
    page = client_for(alice).get(reverse("gallery:album_shares", args=[own.pk])).content.decode()
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)[1:]
    grandma = next(row for row in rows if "for grandma" in row)
    # (Withdrawn, as the family page says of invitation links, and the "Withdraw" button and the visitor's page of
    # this one: "Revoked" said the same of share links.)
    assert "by bob," in grandma and "Withdrawn" in grandma and "Revoked" not in page
    assert "by alice," in next(row for row in rows if "for the neighbours" in row)

    users_delete(users=type(bob).objects.filter(pk=bob.pk))
    page = client_for(alice).get(reverse("gallery:album_shares", args=[own.pk])).content.decode()
    assert "by someone gone," in page


def test_a_links_note_is_hidden_from_visitors_not_from_the_others_who_manage_the_album(family, alice, bob, photos,
                                                                                        client_for):
    """The form said the note was "only you see it", yet the album's creator and every family admin see every link's
    note on the share page (and in the API): what it keeps from is the visitors."""
    own = album_create(user=bob, family=family, name="Picnic")
    _, token = _share(own, bob, note="for grandma")
    form = client_for(bob).get(reverse("gallery:album_shares", args=[own.pk])).content.decode()
    assert "only you see it" not in form and "visitors never see it" in form
    assert "for grandma" in client_for(alice).get(reverse("gallery:album_shares", args=[own.pk])).content.decode()
    assert "for grandma" not in Client().get(reverse("shared_album", args=[token])).content.decode()


def test_guesses_sent_at_once_are_counted_each_before_any_is_checked(album, alice, settings, monkeypatch):
    """The tries were read, the password checked (slow on purpose), then the count written back as read + 1: guesses
    sent side by side all read the same count and each wrote back the same "1", so a guesser with 16 connections had
    41 passwords checked where SHARE_PASSWORD_TRIES allows 5. Each guess is now counted before its password is."""
    from gallery.views import shared

    settings.SHARE_PASSWORD_TRIES = 3
    _, token = _share(album, alice, password="open sesame")
    url = reverse("shared_album", args=[token])
    checked = []
    real_check = shared.check_password

    def slow_check(password, encoded):  # while the first guess is checked, three more arrive
        checked.append(password)
        if len(checked) == 1:
            for n in range(3):
                Client().post(url, {"password": f"side by side {n}"})
        return real_check(password, encoded)

    monkeypatch.setattr(shared, "check_password", slow_check)
    Client().post(url, {"password": "first guess"})
    for n in range(5):
        Client().post(url, {"password": f"later guess {n}"})

    assert len(checked) == settings.SHARE_PASSWORD_TRIES, checked
    response = Client().post(url, {"password": "open sesame"})
    assert response.status_code == 403 and "Too many" in response.content.decode()


def test_a_photo_without_its_display_rendition_never_shows_its_original_through_a_link_that_shares_none(
        family, alice):
    """A photo with no display rendition (stored before renditions existed, or its file lost until the sweep makes it
    again) was shown large from its original, and so was sent whole, full size and with its EXIF (where it was
    taken, to the metre), to a link's visitor who may download no original. Such a link shows the thumbnail then;
    one that shares originals may still show the original."""
    from gallery.models import Photo
    from tests import images

    data = images.gps_jpeg(38.7223, -9.1393)
    photo = photo_factory(family=family, user=alice, data=data)
    album = album_create(user=alice, family=family, name="Lisbon")
    album_add_photos(user=alice, album=album, photo_ids=[photo.pk])
    Photo.all_objects.filter(pk=photo.pk).update(display="")  # (as one stored before renditions existed)
    _, closed = _share(album, alice)
    _, open_ = _share(album, alice, allow_download=True)

    shown = Client().get(reverse("shared_display", args=[closed, photo.pk]))
    assert shown.status_code == 200 and shown["Content-Type"] == "image/jpeg"
    assert b"".join(shown.streaming_content) != data
    allowed = Client().get(reverse("shared_display", args=[open_, photo.pk]))
    assert b"".join(allowed.streaming_content) == data


def test_the_right_password_gives_the_visitor_a_new_session_key(album, alice, settings):
    """The unlock was written into the session the visitor came with: whoever had planted that session's key in the
    visitor's browser (a cookie set from a sibling site of the same domain) was let in by the visitor's password
    too. A new key is issued with the unlock, as Django's sign-in does."""
    _, token = _share(album, alice, password="open sesame")
    url = reverse("shared_album", args=[token])
    visitor = Client()
    visitor.get(url)
    planted = visitor.session.session_key or visitor.cookies[settings.SESSION_COOKIE_NAME].value
    planted_visitor = Client()
    planted_visitor.cookies[settings.SESSION_COOKIE_NAME] = planted

    assert visitor.post(url, {"password": "open sesame"}).status_code == 302

    assert visitor.cookies[settings.SESSION_COOKIE_NAME].value != planted
    assert "Wedding" in visitor.get(url).content.decode()
    assert "Wedding" not in planted_visitor.get(url).content.decode()


def test_a_page_or_part_given_twice_is_said_on_the_shared_album(album, alice, photos, settings):
    """`?page=1&page=2` showed the second page, `?part=1&part=2` downloaded the second part alone, without a word, as
    the members' album page did (given_twice): said, the album shown from its start, nothing downloaded."""
    from html import unescape

    settings.GALLERY_PAGE_SIZE = 1
    settings.DOWNLOAD_MAX_PHOTOS = 1
    share, token = _share(album, alice, allow_download=True)
    visitor = Client()

    paged = visitor.get(reverse("shared_album", args=[token]) + "?page=1&page=2")
    download = visitor.get(reverse("shared_download", args=[token]) + "?part=1&part=2", follow=True)

    assert paged.status_code == 400 and "Give “page” once: it takes one value." in unescape(paged.content.decode())
    assert re.findall(r"/shared/[^/]+/photos/(\d+)/", paged.content.decode())[0] == str(photos[0].pk)
    assert download.redirect_chain and download["Content-Type"].startswith("text/html")
    assert "Give “part” once: it takes one value." in unescape(download.content.decode())


def test_a_links_state_read_without_its_makers_vouching_is_a_mistake_said_at_once(album, alice):
    """AlbumShare.state() read a link fetched without the maker's rule (maker_vouches) as working: a new read that
    forgot AlbumShare.objects.with_maker_vouching() would have let a link its maker no longer vouches for through.
    It is refused at once now; read with it, one query tells the state."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    share, _ = _share(album, alice)
    with pytest.raises(AttributeError, match="with_maker_vouching"):
        AlbumShare.objects.get(pk=share.pk).state()
    with CaptureQueriesContext(connection) as queries:
        assert AlbumShare.objects.with_maker_vouching().get(pk=share.pk).state() == AlbumShare.State.ACTIVE
    assert len(queries) == 1
