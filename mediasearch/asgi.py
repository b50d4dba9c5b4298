import os

from django.core.asgi import get_asgi_application

from mediasearch.runtime import ensure_secret_key_file

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediasearch.settings")
ensure_secret_key_file()  # single machine: generated once (settings only read it)
application = get_asgi_application()
