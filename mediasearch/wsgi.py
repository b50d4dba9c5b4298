import os

from django.core.wsgi import get_wsgi_application

from mediasearch.runtime import ensure_secret_key_file

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediasearch.settings")
ensure_secret_key_file()  # single machine: generated once (settings only read it)
application = get_wsgi_application()
