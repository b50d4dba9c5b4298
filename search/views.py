from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from search.selectors import active_model_state, failed_photo_ids, failed_photos, index_status
from search.services import photos_retry


@require_GET
@login_required
def indexing_status(request: HttpRequest) -> HttpResponse:
    statuses = index_status(user=request.user)
    context = {
        "statuses": statuses,
        "working": any(s.remaining for s in statuses),
        "failed": failed_photos(user=request.user),
        "model_state": active_model_state(),
    }
    template = "search/indexing.html#status-panel" if request.htmx else "search/indexing.html"
    return render(request, template, context)


@require_POST
@login_required
def indexing_retry(request: HttpRequest) -> HttpResponse:
    """Retry one failed photo (photo=<id>) or all failed photos of the user's families."""
    photo_id = request.POST.get("photo", "")
    ids = failed_photo_ids(user=request.user, photo_ids=[int(photo_id)] if photo_id.isdigit() else None)
    count = photos_retry(photo_ids=ids) if ids else 0
    messages.success(request, f"Queued {count} photo{'s' if count != 1 else ''} for another try.")
    return redirect("search:indexing")
