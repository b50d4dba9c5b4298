from __future__ import annotations

import re

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.contrib.auth.password_validation import validate_password
from django.core.validators import MaxLengthValidator

from gallery.models import Membership
from gallery.text import DESCRIPTION_TEXT, NAME_TEXT, TITLE_TEXT, NoControlCharacters, id_from_text


GIVEN_TWICE = "given_twice"  # the error code of a parameter of one value given more than once


def once_message(name: str) -> str:
    """What a page and the API say of a parameter of one value given more than once."""
    return f"Give “{name}” once: it takes one value."


def given_twice(data, names) -> dict[str, str]:
    """Which of `names`, parameters of one value each, `data` (a QueryDict) gives more than once, by name → what to
    say of it."""
    if not hasattr(data, "getlist"):
        return {}
    return {name: once_message(name) for name in names if len(data.getlist(name)) > 1}


class OneValueEach:
    """A page's form of query parameters: one that takes a single value and comes more than once (`family=1&family=2`,
    a hand-edited link or a script's list) is an error of its field (code GIVEN_TWICE), as the API refuses it by name
    (gallery.api_fields.ParamsSerializer): Django's form read the last value alone, the page showing one family where
    two were asked, without a word. `several`: the fields that take several values."""

    several: frozenset[str] = frozenset()

    def given_twice(self) -> dict[str, str]:
        """The parameters of one value given more than once, by name → what to say of it."""
        if not hasattr(self, "_given_twice"):
            self._given_twice = given_twice(self.data, [name for name in self.fields if name not in self.several])
        return self._given_twice

    def full_clean(self):
        twice = self.given_twice()
        super().full_clean()
        for name, message in twice.items():
            self.add_error(name, forms.ValidationError(message, code=GIVEN_TWICE))
        if twice:  # its field shows none of the values (a select showed the last, as if it had been read)
            self.data = self.data.copy()
            for name in twice:
                self.data.pop(name)


class NewPasswordMixin:
    """`password` typed twice, checked against the site's password validators for the account it will belong to
    (its `username` and `email`, so "alice" can't be Alice's password)."""

    def clean(self):
        data = super().clean()
        if data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        elif data.get("password"):
            from django.contrib.auth import get_user_model

            try:
                validate_password(data["password"], user=get_user_model()(username=data.get("username", ""),
                                                                           email=data.get("email", "")))
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


class UsernameLengthMixin:
    """Django's sign-in form sets only the username input's maxlength, not a check: a longer username reached
    authenticate(), where the lockout's record of the failure (axes, 255 characters) was a 500. It can be no
    account's, so it is refused as a field error, before anything is tried or counted."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        field.validators.append(MaxLengthValidator(field.max_length))


class CheckedPasswordChangeForm(PasswordChangeForm):
    """Django's form, the current password checked by authenticate() as the sign-in page checks it: a wrong one counts
    as a failed sign-in of the account (django-axes), and past the limit none is checked (the lockout says so here).
    Checked by the user's own check_password, the page let whoever found a browser left signed in try passwords
    without end."""

    def __init__(self, user, *args, request=None, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self) -> str:
        from gallery.signin import client_ip, lockout_message

        old_password = self.cleaned_data["old_password"]
        username = self.user.get_username()
        if authenticate(self.request, username=username, password=old_password) == self.user:
            return old_password
        if getattr(self.request, "axes_locked_out", False):
            self.request.axes_locked_out = False  # said here, on this page, not as the sign-in page's lockout
            raise forms.ValidationError(lockout_message(username=username, ip_address=client_ip(self.request))[0],
                                        code="locked_out")
        raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")


class SignInForm(UsernameLengthMixin, AuthenticationForm):
    """The sign-in page's form (mediasearch/urls.py)."""


class AdminSignInForm(UsernameLengthMixin, AdminAuthenticationForm):
    """The admin's sign-in form (mediasearch.admin_site)."""


class UsernameField(forms.CharField):
    """A new account's username, checked by Django's rules for usernames (gallery.services.username_validate)."""

    def __init__(self, **kwargs):
        from gallery.services import username_validate

        kwargs.setdefault("help_text", "Letters, digits and @ . + - _ only.")
        # As the sign-in page's input (Django's): a phone must not capitalise it, since sign-in compares it exactly.
        kwargs.setdefault("widget", forms.TextInput(attrs={"autocapitalize": "none", "autocomplete": "username"}))
        super().__init__(max_length=150, **kwargs)
        # max_length for the input's maxlength; the check is username_validate's own (the model field's length is
        # one of its rules), so a name too long is said once.
        self.validators = [*(v for v in self.validators if not isinstance(v, MaxLengthValidator)), username_validate]


class AccountEmailField(forms.EmailField):
    """A new account's email address, at most as long as the account holds (254 characters): a longer one passed
    Django's EmailField and was a 500 on the insert."""

    def __init__(self, **kwargs):
        from django.contrib.auth import get_user_model

        super().__init__(max_length=get_user_model()._meta.get_field("email").max_length, **kwargs)


class FirstAdminForm(NewPasswordMixin, forms.Form):
    username = UsernameField()
    email = AccountEmailField(required=False)
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), strip=False)
    password_again = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                     strip=False, label="Password (again)")
    family_name = forms.CharField(max_length=100, initial="My family", label="Name of your family gallery",
                                  validators=[NAME_TEXT])


class DefaultCountryForm(forms.Form):
    default_country = forms.ChoiceField(
        required=False, label="Default country",
        help_text="Its public holidays name the dates of photos without GPS (search “christmas”).")

    def __init__(self, *args, **kwargs):
        from gallery.places import country_choices

        super().__init__(*args, **kwargs)
        self.fields["default_country"].choices = [("", "None")] + country_choices()


class FamilyForm(forms.Form):
    name = forms.CharField(max_length=100, label="Family name", validators=[NAME_TEXT])


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class InviteForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER,
                             help_text="Admins can invite, remove members and set their passwords.")
    note = forms.CharField(max_length=100, required=False, label="For", validators=[NoControlCharacters("A note")],
                           help_text="Optional: who the link is for, to tell your links apart.")


class InviteSignupForm(NewPasswordMixin, forms.Form):
    """The invitee's own account: they pick the username and the password."""

    username = UsernameField()
    email = AccountEmailField(required=False, help_text="Optional.")
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), strip=False)
    password_again = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                     strip=False, label="Password (again)")


DESCRIPTION_MAX_CHARS = 10000  # a photo's description, however it is edited (photo page, API, admin)


class PhotoEditForm(forms.Form):
    # autofocus: the form replaces the "Edit" link the keyboard was on (htmx focuses it once swapped in).
    title = forms.CharField(max_length=255, required=False, validators=[TITLE_TEXT],
                            widget=forms.TextInput(attrs={"autofocus": True}))
    tags = forms.CharField(required=False, help_text="Comma separated", max_length=2000)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                  max_length=DESCRIPTION_MAX_CHARS, validators=[DESCRIPTION_TEXT])
    # What the form showed (gallery.services.photo_edit_version): a save over someone else's edit made meanwhile
    # is then said, not done silently.
    seen = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    # What each field showed when the form was drawn: after someone else's edit, a field the member left as it was
    # takes what the photo reads now (gallery.views.photos), so saving again puts back none of what they replaced.
    shown_title = forms.CharField(required=False, max_length=255, widget=forms.HiddenInput)
    shown_tags = forms.CharField(required=False, max_length=20000, widget=forms.HiddenInput)
    shown_description = forms.CharField(required=False, max_length=DESCRIPTION_MAX_CHARS, widget=forms.HiddenInput)

    EDITED = ("title", "tags", "description")

    def add_error(self, field, error) -> None:
        super().add_error(field, error)
        # Sent back with an error (its own, or the service's added by the view): the focus goes to the first field to
        # fix, whose error a screen reader then reads (Django links it by aria-describedby), not to the title.
        invalid = [name for name in self.EDITED if name in self._errors]
        if invalid:
            self.fields["title"].widget.attrs.pop("autofocus", None)
            self.fields[invalid[0]].widget.attrs["autofocus"] = True


class TimelineFilterForm(OneValueEach, forms.Form):
    """The timeline's GET parameters. An invalid one (not a number, a NUL, too long, or given twice) is dropped, as on
    the search page: the page still answers."""

    family = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)  # an id, or no filter
    tag = forms.CharField(required=False, max_length=64)
    favourite = forms.BooleanField(required=False)  # ?favourite=1: the user's favourites only
    city = forms.CharField(required=False, max_length=200)  # ?city=Lisbon: taken there (a name as stored, any case)
    country = forms.RegexField(required=False, regex=r"^[A-Za-z]{2}$")  # ?country=PT: taken in that country

    def clean_country(self):
        return self.cleaned_data["country"].upper()

    def filters(self) -> dict:
        self.is_valid()
        return {name: self.cleaned_data.get(name) or None for name in self.fields}


class TimelineForm(TimelineFilterForm):
    """The timeline's filters plus where the page starts (see gallery.timeline.Start). A broken position (an old or
    edited link) is dropped with a plain message: the page then starts at the top."""

    after = forms.CharField(required=False, max_length=64)
    before = forms.CharField(required=False, max_length=64)
    month = forms.CharField(required=False, max_length=7)
    near = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)

    def clean_after(self):
        return self._cursor("after")

    def clean_before(self):
        return self._cursor("before")

    def _cursor(self, name: str):
        from gallery.timeline import Cursor

        if not self.cleaned_data.get(name):
            return None
        try:
            return Cursor.decode(self.cleaned_data[name])
        except ValueError:
            raise forms.ValidationError("That link to a place in the timeline is broken.") from None

    def clean_month(self):
        from gallery.timeline import parse_month

        if not self.cleaned_data.get("month"):
            return None
        try:
            return parse_month(self.cleaned_data["month"])
        except ValueError:
            raise forms.ValidationError(f"“{self.cleaned_data['month']}” is not a month: use year-month, "
                                        "like 2023-05.") from None

    def start(self):
        """Where the page starts: the first valid position given (after, before, month, near), else the top."""
        from gallery.timeline import Start

        self.is_valid()
        for name in ("after", "before", "month", "near"):
            if self.cleaned_data.get(name) is not None:
                return Start(**{name: self.cleaned_data[name]})
        return Start()

    def problem(self) -> str:
        """A plain sentence about a parameter given twice or a broken position ("" when there is none); other bad
        filters are just dropped."""
        self.is_valid()
        if self.given_twice():
            return " ".join(self.given_twice().values()) + " Here are the newest photos without it."
        for name in ("after", "before", "month", "near"):
            if name in self.errors:
                message = self.errors[name][0] if name in ("after", "before", "month") else \
                    "That link to a photo in the timeline is broken."
                return f"{message} Here are the newest photos."
        return ""


class UploadForm(forms.Form):
    """The upload page's fields besides the files (which the service checks one by one)."""

    family = forms.IntegerField(required=False)
    tags = forms.CharField(required=False, max_length=2000)
    album = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)  # optional: put the photos in it

    def problem(self) -> str:
        """The form's errors as one plain sentence for the result rows ("" when valid)."""
        if self.is_valid():
            return ""
        return " ".join(f"{self.fields[name].label or name.capitalize()}: {' '.join(errors)}"
                        for name, errors in self.errors.items())


class AcceptAboveForm(forms.Form):
    """The family page's "accept all suggestions above …"."""

    min_probability = forms.FloatField(
        min_value=0.0, max_value=1.0, initial=0.9, label="Accept every open suggestion with a probability of at least",
        help_text="A number from 0 to 1: 0.9 accepts what the model is 90% sure of.",
        # Any step: with most suggestions at 99% or more, 0.999 or 0.995 is a threshold worth typing (0.01 refused it).
        widget=forms.NumberInput(attrs={"step": "any", "min": "0", "max": "1"}),
        error_messages={"invalid": "Type a number from 0 to 1, e.g. 0.9."})


class AlbumForm(forms.Form):
    name = forms.CharField(max_length=100, validators=[NAME_TEXT])
    description = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}),
                                  validators=[DESCRIPTION_TEXT])


class AlbumEditForm(AlbumForm):
    # What the form showed (album_edit_version): a save over someone else's rename made meanwhile is said, not done.
    seen = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)


class AlbumCreateForm(AlbumForm):
    family = forms.TypedChoiceField(coerce=int, label="Family")

    def __init__(self, *args, families=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["family"].choices = [(f.pk, f.label) for f in families]
        if len(self.fields["family"].choices) == 1:
            self.fields["family"].initial = self.fields["family"].choices[0][0]


class AlbumArrangeForm(forms.Form):
    """One arranging step on an album page: move a photo up or down (or to a position), make it the cover,
    take it out."""

    action = forms.ChoiceField(choices=[("up", "Move up"), ("down", "Move down"), ("to", "Move to"),
                                        ("cover", "Make cover"), ("remove", "Remove")])
    photo = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    position = forms.IntegerField(required=False, min_value=1, max_value=10**6)
    # The photo's position as the page showed it (static/js/albums.js keeps it in step after a drag or a removal):
    # a step of a photo that moved since (the same arrow clicked twice, Back and again) is refused.
    at = forms.IntegerField(required=False, min_value=1, max_value=10**6, widget=forms.HiddenInput)


class AlbumPhotosForm(forms.Form):
    """Photo ids to add to an album (checkboxes of the picker, or one photo from its page)."""

    photos = forms.TypedMultipleChoiceField(coerce=int, required=True, choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any id: the service checks each against the user's families and answers per photo.
        self.fields["photos"].valid_value = lambda value: id_from_text(str(value)) is not None


class ShareForm(forms.Form):
    days = forms.IntegerField(min_value=1, max_value=365, label="Works for (days)")
    password = forms.CharField(required=False, max_length=128, strip=False, widget=forms.PasswordInput,
                               help_text="Optional: visitors must type it.")
    allow_download = forms.BooleanField(required=False, label="Visitors may download the originals")
    note = forms.CharField(required=False, max_length=100, label="For whom", validators=[NoControlCharacters("A note")],
                           help_text="Only you see this, to tell links apart.")


class SharePasswordForm(forms.Form):
    password = forms.CharField(max_length=128, strip=False, widget=forms.PasswordInput)


class PhotoDateForm(forms.Form):
    """A photo's date taken, in the zone it was taken in; a scan may only know the day (noon then)."""

    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}),
                           error_messages={"invalid": "Write the date like 1987-06-14."})
    time = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}),
                           error_messages={"invalid": "Write the time like 14:30."})


class PhotoShiftForm(forms.Form):
    """Move dates taken by an offset (a camera whose clock was wrong): this photo, or every photo of the family
    taken with the same camera on the same day."""

    SCOPES = [("photo", "This photo"), ("camera_day", "Every photo from this camera that day")]
    days = forms.IntegerField(required=False, min_value=-36600, max_value=36600)
    hours = forms.IntegerField(required=False, min_value=-10000, max_value=10000)
    minutes = forms.IntegerField(required=False, min_value=-100000, max_value=100000)
    scope = forms.ChoiceField(choices=SCOPES, initial="photo")
    # The photo's date as the page showed it (photo_date_version): a shift made twice (two members, Back and again)
    # is refused the second time.
    seen = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, camera: bool = True, **kwargs):
        """`camera`: whether the photo names its camera; without one, "this camera" means nothing (every other
        photo without camera details that day would go along), so the page offers this photo alone."""
        super().__init__(*args, **kwargs)
        if not camera:
            self.fields["scope"].choices = self.SCOPES[:1]
            self.fields["scope"].error_messages["invalid_choice"] = (
                "This photo names no camera, so no other photo can be told to come from it: shift it alone (or tick "
                "the photos to shift together on the timeline).")

    def clean(self):
        data = super().clean()
        if not self.errors and not self.delta():
            raise forms.ValidationError("Give a shift in days, hours or minutes (negative for earlier).")
        return data

    def delta(self):
        from datetime import timedelta

        data = self.cleaned_data
        return timedelta(days=data.get("days") or 0, hours=data.get("hours") or 0, minutes=data.get("minutes") or 0)


class DecimalDegreesField(forms.FloatField):
    """Degrees as a phone's keyboard may write them: "38,7223", with a decimal comma, is 38.7223. A text field with a
    keyboard of digits, not a number field: one of those drops a comma its browser's language does not use (387223)."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def to_python(self, value):
        if isinstance(value, str) and value.count(",") == 1 and "." not in value:
            value = value.replace(",", ".")
        return super().to_python(value)


_DEGREES = r"-?\d+(?:[.,]\d+)?"
# A position copied whole from a maps app ("38.7223, -9.1393"): two numbers apart by a comma or semicolon and a space,
# or a space alone, or a comma between two numbers with a dot each ("38,7223" is one number: a decimal comma).
POSITION_PAIR = re.compile(rf"\s*({_DEGREES})\s*(?:;|,\s|\s)\s*({_DEGREES})\s*|\s*(-?\d+\.\d+)\s*,\s*(-?\d+\.\d+)\s*")


class PhotoPlaceForm(forms.Form):
    """One of the family's known places, or a position typed in decimal degrees; a position pasted whole into the
    latitude, the longitude left empty, is read as both (POSITION_PAIR)."""

    known = forms.ChoiceField(required=False)
    latitude = DecimalDegreesField(required=False, min_value=-90, max_value=90)
    longitude = DecimalDegreesField(required=False, min_value=-180, max_value=180)

    def __init__(self, *args, places=(), current: str = "", **kwargs):
        """`current`: the photo's place now, as its label says it ("" for none): the list's first line names it, so the
        list never reads as if the photo had no place (choosing nothing there still changes nothing)."""
        super().__init__(*args, **kwargs)
        if self.is_bound and not self.data.get(self.add_prefix("longitude"), "").strip() and (
                pair := POSITION_PAIR.fullmatch(self.data.get(self.add_prefix("latitude"), ""))):
            latitude, longitude = (group for group in pair.groups() if group is not None)  # (one alternative's)
            self.data = self.data.copy()
            self.data[self.add_prefix("latitude")], self.data[self.add_prefix("longitude")] = latitude, longitude
        self.places = list(places)
        self.fields["known"].choices = [("", f"— (now: {current})" if current else "—")] + [
            (str(n), p.label()) for n, p in enumerate(self.places)]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        typed = data.get("latitude") is not None or data.get("longitude") is not None
        if data.get("known") and typed:
            raise forms.ValidationError("Choose a place or type a position, not both.")
        if typed and (data.get("latitude") is None or data.get("longitude") is None):
            raise forms.ValidationError("A position needs both a latitude and a longitude.")
        if not data.get("known") and not typed:
            raise forms.ValidationError("Choose a place or type a position.")
        return data

    def place(self):
        known = self.cleaned_data.get("known")
        return self.places[int(known)] if known else None

