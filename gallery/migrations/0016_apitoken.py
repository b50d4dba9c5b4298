import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def keep_drf_tokens(apps, schema_editor):
    """The keys of DRF's authtoken (one per user, kept in plain text) become knox tokens (only their hash kept), so
    API clients holding one go on working after the upgrade. The old table is left for the administrator to drop."""
    from datetime import timedelta

    from django.utils import timezone
    from knox.crypto import hash_token
    from knox.settings import CONSTANTS

    connection = schema_editor.connection
    if "authtoken_token" not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("gallery", "ApiToken")
    days = getattr(settings, "API_TOKEN_IDLE_DAYS", 30)
    expiry = timezone.now() + timedelta(days=days) if days > 0 else None
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id, created FROM authtoken_token")
        rows = cursor.fetchall()
    for key, user_id, created in rows:
        token = ApiToken(token_key=key[:CONSTANTS.TOKEN_KEY_LENGTH], digest=hash_token(key), user_id=user_id,
                         expiry=expiry, label="Token from before the upgrade")
        token.save()
        ApiToken.objects.filter(pk=token.pk).update(created=created)  # created is auto_now_add
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM authtoken_token")  # plain-text keys are not kept beside their hashes


class Migration(migrations.Migration):
    """API tokens through django-rest-knox (several per user, hashed at rest, idle expiry), our own model so that a
    token has a plain id (list, revoke), a label and the time it was last used."""

    dependencies = [
        ('gallery', '0015_family_name_not_unique'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('token_key', models.CharField(db_index=True, max_length=25)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('expiry', models.DateTimeField(blank=True, null=True)),
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('digest', models.CharField(editable=False, max_length=128, unique=True)),
                ('label', models.CharField(blank=True, help_text='What the token is for, or the client that asked.', max_length=200)),
                ('last_used', models.DateTimeField(blank=True, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='auth_token_set', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'API token',
                'ordering': ['-created', '-id'],
            },
        ),
        migrations.RunPython(keep_drf_tokens, migrations.RunPython.noop),
    ]
