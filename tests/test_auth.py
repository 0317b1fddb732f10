"""Bearer tokens: anything but a valid token is UNAUTHENTICATED, never a 500."""

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gql import auth
from gql.ids import to_global_id
from gql.settings import DEVELOPMENT_JWT_SECRET, Settings
from tests.graphql_client import GraphQLClient, error_codes

VIEWER = "{ viewer { id timezone } courses { edges { node { id } } } }"


def _claims(**overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": str(uuid.uuid4()),
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    claims.update(overrides)
    return claims


BAD_TOKENS = {
    "bad signature": jwt.encode(_claims(), "another-secret-of-sufficient-length!", "HS256"),
    "expired": jwt.encode(
        _claims(exp=datetime.now(UTC) - timedelta(seconds=5)), DEVELOPMENT_JWT_SECRET, "HS256"
    ),
    "wrong algorithm": jwt.encode(_claims(), DEVELOPMENT_JWT_SECRET, "HS512"),
    "alg none": jwt.encode(_claims(), None, "none"),
    "malformed": "not.a.jwt",
    "garbage": "%%%.\t.$$$",
    "sub not a uuid": jwt.encode(_claims(sub="alice"), DEVELOPMENT_JWT_SECRET, "HS256"),
    "no exp": jwt.encode({"sub": str(uuid.uuid4())}, DEVELOPMENT_JWT_SECRET, "HS256"),
    "roles not a list": jwt.encode(_claims(roles="admin"), DEVELOPMENT_JWT_SECRET, "HS256"),
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
async def test_invalid_token_is_unauthenticated_and_content_stays_readable(
    client: GraphQLClient, case: str
) -> None:
    response = await client.post(VIEWER, token=BAD_TOKENS[case])

    assert response.status_code == 200
    body = response.json()
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert body["data"] is None or body["data"].get("courses") is not None


async def test_missing_token_is_a_null_viewer_beside_content(client: GraphQLClient) -> None:
    body = await client.execute(VIEWER)

    assert "errors" not in body
    assert body["data"]["viewer"] is None
    assert body["data"]["courses"] == {"edges": []}


async def test_missing_token_is_unauthenticated_where_a_field_needs_one(
    client: GraphQLClient,
) -> None:
    body = await client.execute('mutation { enroll(courseId: "Q291cnNlOjA=") { __typename } } ')

    assert error_codes(body) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("header", [b"Basic abc", b"Bearer", b"Bearer \xc3\xa9\xff"])
async def test_malformed_authorization_header_is_unauthenticated(
    client: GraphQLClient, header: bytes
) -> None:
    response = await client.http.post(
        "/graphql", json={"query": "{ viewer { id } }"}, headers=[(b"authorization", header)]
    )

    assert response.status_code == 200
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]


async def test_valid_token_creates_the_user_on_first_sight(client: GraphQLClient) -> None:
    user = uuid.uuid4()

    first = await client.execute("{ viewer { id timezone } }", user=user)
    second = await client.execute("{ viewer { userId createdAt } }", user=user)

    assert first["data"]["viewer"] == {"id": to_global_id("Viewer", user), "timezone": "UTC"}
    assert second["data"]["viewer"]["userId"] == str(user)


def test_rs256_tokens_verify_with_the_public_key_only() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings = Settings(jwt_algorithm="RS256", jwt_public_key=public, jwt_private_key=private)
    user = uuid.uuid4()

    token = auth.mint_token(settings, user_id=user, admin=True)
    identity = auth.decode_token(token, settings)

    assert identity.user_id == user and identity.is_admin
    # An HS256 token signed with the public key as the secret (the classic confusion) fails.
    forged = jwt.encode(_claims(sub=str(user)), "x" * 64, "HS256")
    with pytest.raises(auth.InvalidToken):
        auth.decode_token(forged, settings)


def test_production_refuses_to_start_without_a_key() -> None:
    with pytest.raises(ValueError, match="JWT"):
        Settings(env="production", jwt_secret=None, jwt_public_key=None)


class _Clock:
    """Stands in for the time module in gql.auth: time() is whatever the test sets."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


def test_a_kept_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings()
    user = uuid.uuid4()
    token = auth.mint_token(settings, user_id=user, lifetime=timedelta(minutes=10))
    assert auth.decode_token(token, settings).user_id == user  # verified, and kept

    clock = _Clock(datetime.now(UTC).timestamp() + 11 * 60)
    monkeypatch.setattr(auth, "time", clock)

    with pytest.raises(auth.InvalidToken, match="expired"):
        auth.decode_token(token, settings)


def test_a_kept_token_is_checked_against_the_key_in_use() -> None:
    token = auth.mint_token(Settings(), user_id=uuid.uuid4())
    auth.decode_token(token, Settings())  # verified, and kept under the development secret

    rotated = Settings(jwt_secret="a-rotated-secret-of-sufficient-length!!")
    with pytest.raises(auth.InvalidToken, match="not valid"):
        auth.decode_token(token, rotated)
