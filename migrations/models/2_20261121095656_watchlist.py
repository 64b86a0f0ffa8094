from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "watchlist_entries" (
    "id" UUID NOT NULL PRIMARY KEY,
    "kind" VARCHAR(16) NOT NULL,
    "pattern" VARCHAR(32) NOT NULL,
    "label" VARCHAR(200),
    "created_at" TIMESTAMPTZ NOT NULL,
    "owner_id" UUID NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_watchlist_e_owner_i_d12845" UNIQUE ("owner_id", "kind", "pattern")
);
CREATE INDEX IF NOT EXISTS "idx_watchlist_e_owner_i_2762f6" ON "watchlist_entries" ("owner_id");
COMMENT ON COLUMN "watchlist_entries"."kind" IS 'EXACT: exact\nPATTERN: pattern';
COMMENT ON TABLE "watchlist_entries" IS 'A plate, or a `*`/`?` pattern of plates, that its owner wants to hear about.';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "watchlist_entries";"""


MODELS_STATE = (
    "eJztXGtT4zgW/Ssqf6K3erIQoOlhtnYrCaYnM0CYEGa6ptkySqwkGmwpbck8qrf/+0h+P4"
    "NtcEiy/tJNrnQl+xw97tW98jfFpDoyWOsXOlaOwTeFQBOJP6Li90CBi0UolAIOx4ZT7y86"
    "dgRwzLgFJ1zIptBgSIh0xCYWXnBMiZAS2zCkkE5ERUxmocgm+KuNNE5niM+RJQq+/FeIMd"
    "HRI2Ly5xeFPhBkaViXXU0sBDnSNcgVUe+LwjjktvMQ9kIPSmQTizttipGhx97MbcSRa/xp"
    "4ciur/snp05N+YhjbUIN2yRh7cUTn1MSVLdtrLekjiybIfFostvIq8s38xDyRe5bCgG3bB"
    "S8nh4KdDSFtiEBVP41tclE4gacnuQ/B//2Hi1STdMuBiPtSh1pmlIC7wklkitMuAT323e3"
    "3RAQR6rIDno/d4Y7+x/eORBQxmeWU+jApXx3FCGHrqpDVIjynXi/NM69ObRUYpsO1n3xGJ"
    "BMUApzXzeBunjoKnj7ghDwcID6UPpgFYdX6Z93PqnHAJtwhm7I7/0TdXAM7rGOqFIIdsWE"
    "j5qByIzPxc+9D0to+L0zdJjYc5mgYp65k+/CK2k7RZKQkIBwVlShINReHQmKqGojveQ4V3"
    "67Vq/Vk2Pgat+Qy+Ggp15d9S8+HYOFRSeIMcHDDekNzi/P1JGsOqHmwkBc1j7t9M+kaAqx"
    "4fX95tQtoAXNDOp+uRpcZK9SoUaCLh1POPgfMDDjtdEWrlZjGxscE9aS3b7FgiURki2bjH"
    "01ojDvnHc+JxnonQ26yZVNNtBN0GEiHUNtAQXbmbMpm5K4VqVZ5G0MNa9khXGPD/vDvXaB"
    "cS9q5Q58pywD6jIDP1B40bhfM6BXPsClWadhMqWloI9pNfhXx5/ZpgmtpzLgR1Qa5Ksjjy"
    "yLWmncR+iRZ+MeKGzDgr4E7ZH6ebQcbfPJKzkbXHzyqycpiKMNOUfmgmdYNn2Sg3dUJQG5"
    "eIu6TJrdunbQmXyCH9p7B0cHH/c/HHwUVZynDCRHSzjpX4yShqJF5ejOAPTUoDAH0qhSAt"
    "Kp1KoN1FZdsC7B7GRw3T1TweVQ7fWv+t4K4o9ct1CKhABzB4Kh2jlLoDwVtjVimudLoAy3"
    "Nnf4Zqk2wzg5jD2UOOXQKA9uoFYJ2DVbkmtYITwHWGMLlDV2l68UKeWKK8aawVzzihEBjm"
    "MTVQXd120wL4A5YgIu5/TXO92Rj5cC/kTUkLDmWHc5bSRNbK+Rlv/HVpEx6p+rV6PO+WXM"
    "/jvpjFRZ0o5z40l3ksdbQSPgj/7oZyB/gj8HF2rSKA/qjf5U5DNBm1ON0AcN6lFMfLEvij"
    "EfiQeU5Duu+Qosr+jwufh2Il5QHxDjyRuBG0K7N1mWsh6J9ZRkPa7ZsL4urGdMdu/pY1EN"
    "qxrrcc1mRV8fktNze4oJZvNKNCdUG57Xmec5EnNyLPbgCkQndRum15lpSIhw0+X6WzaOlt"
    "bchqPXFcTSQuDQ4wILLitMsrw2msm2zpMtmixVNM8pqvOa2U7rS+szyU0yf2x6l5nb5GCV"
    "cahDLYRn5Ff0lMqtSSDqJdddM7RGGU1lMQ2l4Wy24EOQcRcbUuLlxSsj9/Sm17nqdU5Uxc"
    "F4DCd3D9DStRyw3VPeNNpdT+/01yEyYM5JTZjFeCqb2SKwHexom0Ywi6GZLjLbZlICCZw5"
    "ryT7lj0l8crOCA2wXJoWqoXMPZscqpyIoeHkEDEAiQ5MBJltIRMJFACdAkqQkEPjiSEdOO"
    "3+BHZEH+/dH5pDzjuAGXB5A4wCJy0kCnAtndwQC1k2AfQeWQ8W5oi1lPeZOa1fJCjOOA5b"
    "c9NUI5mupbJWu3iWGxzJXMkzQiLexH1Zwmr9AZEf2+39/aP27v6Hj4cHR0eHH3eDyEi6aF"
    "mIpNv/JKMksb3ZD5vkZ7NGKUvRsDxAFWqtLvC3QQEqaS2KfdJcaOWi2Am9VQayNzdGogcL"
    "YBrr/FyjuNZ6JJjK/rYowVQ8z6QUJxGVJv+rOvLSTCnnJ4UajZe03EvyrZ2X+UjeBaTNBP"
    "RZFykcTWUdpDrN/yGaCpbnI3qHiJLhAsTKl7oBlltT2MGiakFXYCDMcMyYLYxwTx046j+5"
    "/wWmOhPj6AdMAJtDSxjuojkTG0/SKLeQzZD4917UZ0DY3yaAhtFK+QO19vT8rbZcW/8vjk"
    "stSW715o5a2TtqLo8lN4CYUr17wCr9rJcgHEnCqXzS/Orny2u6JWzFAbNY9ColXrAmLrsR"
    "/LobWhWK45oNy+vMcpM3l0vzhmZQFcqbY6VjgxGVxuld7vTarIkMPu/2RgbUOvm9DuoZ/q"
    "7PRr6fK1+o/s+gNJ80eVN3EZkQZ9xPyk9dChRe5xsabxuHiyUs7bd3CyQsiVq5CUtOWfKz"
    "F4w9UDGJ55CVShFLKa7zh2MqIt4+PCyAuKiVi7hTlrh4JzrWCMy6oZSPdkxp+3Lx2rtFhr"
    "aolQ/0bmpoY6aJTQHfZwDdpdRAkOQs1VG9BNZjoVjXsPZXltWuzd3B4CxmRXf7yVvl1+dd"
    "dbiz52AfhjrTYWUBHLMXyMq2x57DPKa6QtgDycbi3viU+cvMFvuUzV2sLWM97y5WyvUtks"
    "LpfyPyRQmcG8h9bu5m/Kw1GSKtDlMyMLuNeD1APpn72S3VofrDb0Yl3P2O0raAVecJSQK1"
    "jLOSNK75pyYBlRoSlXHRXOEOWAh2RQG1AAS3/7j95+1/bsFCfirIIjJm7xSz94DPIQdYJv"
    "fKTHTwAGWiL6dAXh0DcExtns4JeM3Gb8gNueLUQjog1DKheFXx586tk0egt9yWWkGR5uCh"
    "eX3dvpMJBuirDQ3gwQPEvmlgHeVnGAc3E4JPqLqNvSzPuDlKar6OWw5eRf3c6Y2OAXoUM/"
    "mGXHZGI3V4cezPo+SsK+KX1/GZ1eBhip80BSrrDH/lU71Ch3pLzvSSEIv3RqWOTAOF5mCp"
    "0MFS42/no7+ZnlcRf3u9L3huRtraRt3vfANIa73eWaeP0kEWnsyVDN/EK1nqk8CwztqEcv"
    "9fLvm98FJZvrl9jyyW+Tm4fEMkorKFll4t0UQ5qUog7FXfQnT3Cll6e0ssvb0MS48SjkiG"
    "mZd/SSyisvpbe2+z6b/aLbESB92vv5l9/xsNTe8i"
)
