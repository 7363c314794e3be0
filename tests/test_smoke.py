import pytest
from django.db import connection


@pytest.mark.django_db
def test_postgis_is_there():
    with connection.cursor() as cursor:
        cursor.execute("select postgis_lib_version()")
        assert cursor.fetchone()[0].startswith("3.")
