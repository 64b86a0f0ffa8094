from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "invites" (
    "id" UUID NOT NULL PRIMARY KEY,
    "code_hash" VARCHAR(64) NOT NULL UNIQUE,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "used_at" TIMESTAMPTZ,
    "used_by_id" UUID REFERENCES "users" ("id") ON DELETE SET NULL
);
COMMENT ON TABLE "invites" IS 'A single-use sign-up code (VIGIL_SIGNUP=invite). Only a SHA-256 of the code is stored;';
        CREATE TABLE IF NOT EXISTS "refresh_families" (
    "id" UUID NOT NULL PRIMARY KEY,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "revoked_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "user_id" UUID NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
COMMENT ON TABLE "refresh_families" IS 'One sign-in''s chain of refresh tokens. A rotation locks this row, so revoking it ends';
        ALTER TABLE "api_keys" ADD "scopes" VARCHAR(64) NOT NULL DEFAULT 'read write';
        ALTER TABLE "api_keys" ADD "created_by_key_id" UUID;
        ALTER TABLE "api_keys" ADD "expires_at" TIMESTAMPTZ;
        ALTER TABLE "users" ADD "token_version" INT NOT NULL DEFAULT 0;
        ALTER TABLE "users" ADD "previous_callback_secret" VARCHAR(100);
        ALTER TABLE "users" ADD "previous_callback_secret_until" TIMESTAMPTZ;
        ALTER TABLE "webhook_attempts" ADD "url" VARCHAR(2048);
        ALTER TABLE "webhook_endpoints" ADD "previous_secret" VARCHAR(100);
        ALTER TABLE "webhook_endpoints" ADD "previous_secret_until" TIMESTAMPTZ;
        ALTER TABLE "api_keys" ADD CONSTRAINT "fk_api_keys_api_keys_66b48baa" FOREIGN KEY ("created_by_key_id") REFERENCES "api_keys" ("id") ON DELETE CASCADE;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "api_keys" DROP CONSTRAINT IF EXISTS "fk_api_keys_api_keys_66b48baa";
        ALTER TABLE "api_keys" DROP COLUMN "scopes";
        ALTER TABLE "api_keys" DROP COLUMN "created_by_key_id";
        ALTER TABLE "api_keys" DROP COLUMN "expires_at";
        ALTER TABLE "users" DROP COLUMN "token_version";
        ALTER TABLE "users" DROP COLUMN "previous_callback_secret";
        ALTER TABLE "users" DROP COLUMN "previous_callback_secret_until";
        ALTER TABLE "webhook_attempts" DROP COLUMN "url";
        ALTER TABLE "webhook_endpoints" DROP COLUMN "previous_secret";
        ALTER TABLE "webhook_endpoints" DROP COLUMN "previous_secret_until";
        DROP TABLE IF EXISTS "invites";
        DROP TABLE IF EXISTS "refresh_families";"""


MODELS_STATE = (
    "eJztXetX4zYW/1d08mWZPQw7MMDM0n2cAIFJhwEWQtuzQ49RbIWo2JZryzxOt//7SrIdvx"
    "3bwYlj9KUdJF3J+V35+r509UfPIBrSna2+hb+il94B+KNnQgOxfyR6NkEPWlbYzhsoHOti"
    "KLSw8oBeRCMcO9SGKmXtE6g7iDVpyFFtbFFMTD66DwyoTrGJgGojDZkUQx0wCmzeA+gATB"
    "1AnkxkgydM2TDR4KjEQs4WuDD1FwBN8OVb/+j99Zf+zt4+IBNAp4ivrRGVLc7maW6ZW5P9"
    "ULDhmhqjZH8DB9mP7J8OYqvQdwCzSShhC/4gevlgNjHSJ6JnylYExFQZKpDy54IclC3+7K"
    "6Jf3eRQsk9YoQ2+wXff2XNmC30jJzgT+tBmWCkazFOYY1PINoV+mKJtpub4fGJGMlxGSsq"
    "0V3DDEdbL3RKzNlw18XaFqfhffeIwQIp0iI8NF1d99kdNHlPzBqo7aLZo2phg4Ym0NX5Tu"
    "j9Y+KaKv+tQKzE/7P7L//RIsMU5fxipFwPRorSS20c/ggJJvtNKjH5psMm5UD98ac3bwiI"
    "aO3xBY6+9K82Pu6/ExAQh97bolPA1ftTEEIKPVIBeoiy+H8K56MptLNxDsYnkGYPWgfjoC"
    "EEOXy7AvgCgBqAtGfAZ0VH5j2dsj93PnwowPin/pWAmY0SOBMmDjw5ce537Xh9HO8QX8tG"
    "E/xcBeGQooMYb++XgHh7Pxdh3hUHmMkiZQqdaRWIozSvA/J8YbE0iPd3S0C8v5sLMe+KQy"
    "wkOtIUSNMgH7Meig2UDXScMgG15pNuBf9Yx93NfqDGv6s+ywugHw2/Da5H/W+XfDnDcX7X"
    "BX790YD37IjWl0TrRvJNmE0Cfh6OvgD+J/jvxfkgKfln40b/7fFngi4likmeFKhFdmfQGq"
    "AW47oOHaq4Ti2+J2lfgfP+I7eF8WvC6ACTQk7b6JE81OJznFJyuc1c9qyAKp/JkGJ5mogQ"
    "qODJxhQ1pUg3/blEzxZmfKvxOsUp5evU5tcpUG3GL9xJoFSzVjOJFzBe14fPc03VEGHhx6"
    "gIbJTmNZ0BaUCXqeDXx5N7VyYPmZa/gCqN7QmxEb43v6IXgfCQPQg01Syb33el3Tjolb4G"
    "K4A0bA3Xt+HTzB0V21Dst7NfjKj32exfH/WPB70CofAK4IZ+yrWUAHPhzRSE2TjzrTyG6s"
    "MTtDUlZ08H0wVu2zj6hz71ydcrpAsf5dsBXsBHdkgEthig6S5jx0i2QBPei5/E1+YrBWC5"
    "GqaDRyRWS/vaw97NQn87H6cgPrC0z91Bqst0xRcgyA6Aw96u99hkBFh3mSjcBBZ0nCdia0"
    "CdQvOet/Qvh8KDDU2maKLxlJCHoHMrw9/exBLz3eLfe8x8DgRPxI3yayV/+SG+H5q0gscc"
    "e0yK7nl/g7fX+3XPH+H933d2Pn78tPPh4/7nvd1Pn/Y+f/jMxornTXd9KviiHg5Ph+ejuG"
    "LJG4r96FAN5ElZ6yqk6KCf9/WtKmxVAdcbXQvYlgn0pnHVEGWCLONr+eP1xXk2uBGSpI2K"
    "VQr+B3TspMTIqzkIwqDb2MU6xaazxZddRdyNQxSzVwOgN771f0ny4Ojs4jCppfMJDtfa27"
    "5USd9dZ3vkY1/W1I2QSM9BoaXrOss0dNuJ6FxLLLKdYvYXWx+c35ydFRlgTdoWQ/MRiydJ"
    "2RV+T6FNgcWY8uYEQ1JH7xkWnprvWkBlk4KNn5hSeKZcD0/Pby7/6U36LkioAddf+u/DXB"
    "qPIsyYyTIpGljm1gwbM1NzKBFkxOKbl9jgaUqAAcVwmarTFilWZGJw3lZOdYgRyVyHdQre"
    "tM3CWxN1q1L0Zj2UbJnS8mpadh2Wy0SW1bO31FstGDWuGoyNU0lbap4txcGS5tR8cyqyqV"
    "plUf1Ixr0Mc4o3bxbZUr+RcTlDKh/MMnGPaMQ1GvjYBN+ZxgqpKx7CtbR6IRFpl7y2XfLA"
    "fl+2STIwXSMlDeKZ2D5tm0MgveG3/ungAGCDvU+35k/D48HFAXjEGiJJ2341KfDhW1GHBS"
    "H1ErP82FAXaRX3ee8/N4ObwfEB8Khvzcuri6PB9fXw/PQAWDZRkcM9K7fm0cW3y7PBiA9V"
    "iWFxwctGn/SHZ7yJB279tVfOOgva0KgUfAkpZOzl1WMvBtIwVCxIK/lY4lTdCzrube+U2P"
    "dsVO7GF30ZUFfZ+DOChfZ9y4Be+gbnap2CzQmpBH2MSuJfH3/HNQxoZ5hP+eBHSCTy9ZFH"
    "tk0yooAj9JyTHzUj6IJAL/LyDH4ZFaM9c/KcXZyfBsOTLIijDSlFhkUzNJvcfLQoyfystN"
    "dSaT409QX1stJ2tnc/7X7+uL87S0abtRTloAX5ZtFzxITv7gxAT3QCcyCNEiUgnXCqxkDd"
    "agrWAsyOL24Ozwbg8mpwNLwe+hJk5p4UnbyJNXjx5N7VoH+WQHnCdGvkKL4tgTLM2tztm0"
    "Uqt3FyG/soUUKhXh3cGVktYFsmkhuQEL4BrDgWytq7xZIiRVxTYrQM5oYlRgS4IP5TB/SA"
    "VmJeAnPkMLiE99f37mRmXs+J1ufMIQN8bQ7wybB9/uekw2H7MNZTketxSsn1tnA942X3nz"
    "4W1bDrcT1OKSV6e5icfrcn2MTOtBabE6SSz23m8xSxd3LMvsE1GJ2klZxuM6ehaTIzncvf"
    "qnG0NGUXXK9LiKWFwNVPX86bQ75sbX7ZVKjrPCtMce0Mf1rBsYAEXfdetJ0Pu59LvGl8WE"
    "E9T965TlVp2vIidaksTSvzS+fXpSlTL8Xzq6fRrlIp5UcyPrHhWlrPucVSoi+8X7+DQ4wf"
    "kY0Xxetnb75jbzpZYqZ00rK3y7Izl2c7sDB9WQn3+/zToMfshRK5bo4o42Ig6Lg2Mnh1Gn"
    "4Ek5iItUP9xUEaEPP+ADbYGpveH4pgjqic7vENOASI9KXYWdAmFrk1bWS7JiBse4lCirk1"
    "Z75zUMRuDmfz0qnrnvqUBWd43zIKzkRZlmJDcSA1pFpegHqNAqncqmHahWEp1bItEnTLTL"
    "hY31ieNhOAaawLK9BEqNqRCM3X61AiNHsetRJPIiQyT7E+8lxNqWZdhhTStiy2LQNtZzHL"
    "0j8ot56AzjUsw91U1axsUv2/QhPG5ekJNLCeeaFTfEChIWB7Q5UJH4vLmgMXJgpKP/7F4c"
    "Ucsck1dH8yQMkDYh8B0Ac2d6PyL4NO1AcH0CnTzm3ytMl1c1Evn1/VhClApuak7IFGVrk1"
    "Ebc0PepZ+Rg+9yaAwHFVnoVEbGZGOC6zM9gWUV3bZjaI/gKwqequFlz85D0QN1wdftWTwd"
    "4+fiBOFK3hB7EuzhUm+pT+6UC5BlPyxNdlC1LEL6Lynrl0BUx5qnOlpzplIZQ6gK9dAEHe"
    "/fEWuCzz5nLZvKYZVK0uKtk2HjdVCUXGqWqXlWyHPTHiGnGBOeH1l7ImPNW8vC3hK9sxzf"
    "4HX8EPXP9BqXlnCm3EVHVhsbx4Kj4vHul9grn2jwwAdT1dvr7RlRbQ4X+juJKLwxsutfiq"
    "WrzHx4ofgRiRvEVHFoh8gxqzLBXYbf5Ku/ctcFnavblslnavtHul3fvW7F6Beoa9G3Aj38"
    "7lP6j58p8y6LPaoI8BcaVzBDOCzl0t8HHnQ4njA2xU7ukB0Zcs9+jdFFj5GocUYZsLptY9"
    "sbG3V+bAxt5e/nkN3pcoOMMWVkyYVZkjH+0YURePxpTZ2mxUwcGY1NbGjsJvNHzMAPqQEB"
    "1BM0dUR+kSWI8ZYVPbOpAsy5XNhxcXZzEt+nCYrKZ28+1wcLWxLbAPUyfTaaoMOMe1kJ2t"
    "j83DPEa6RNhnLWuL++zonIOYkZhhWJY4dReSdk+6bJeSLtsF0mU7LV0sGz1i4jrKAugXzS"
    "HZsBAbFNekWYpjsY9l/mzSu9Zm75oIISqPzC7MLMCVewglRSfrJKY+MtJx+RYdl7LQVce4"
    "niFHZ0dlU06/eae1oYWVB/Sy4PnjvoW/ojLHjtu2BUqd1oauhqmCHvkJ2gVx4jMN+ERrq2"
    "UUQ+Xfjau4mYWOq0AV3sTbQZiCa6/qw9OtA0OJMHr6LE19oFKHeLoMWZgwuDBgszTFLuL1"
    "BKk6Dc6O1ofq52CagUlLVd1YT7BWXqxkrWFDpmYRvLDq4KM28GfrEmpNBqcTr2hGmDr9Eu"
    "cHrGdyg3GV2qXPefaBxdjLOogNILj7693f7v59Byx+O4ktDk+KbmcT0CmkAPM6LbwUE3iC"
    "vGYLJYBXqwRwTFyaTsd+zclvzVvzmhIbacAktgHZT2X/3LgTKdzaljfT1qxLEXgo/lp373"
    "huN/rdhTrw4QHMmtSxhvKLxcxKc81ubfQmW6xkjIziyws5q8HbG/zSPxodAPTM3uRb87I/"
    "Gg2uzg+C9yj51pXyljdws+PsYcoH+WckbYa/dkJFqXyKgnSKJMTsd6NK2Sozgu6FexqJ6U"
    "svdD766+mPLOOFbneF0/U4MVSQP9u+AqcrgLTR+qaN2iieadf3LivsZdko8RHFNopvd0bv"
    "Pix3fPTLaHQJbKbAI4dywwEC3+R/EYUkn7j9oLIH4304wxKpOUemXaBFvANMwRyzdllEsl"
    "zAeMVFJH1upTiQC39IIEtHZoTtK1Zhl8XXKxZfb9GdQG3bymuigJZKLNJcW3hYFaPKBcIJ"
    "KimgMgQUew0oT7hjqkgFZBNU8vbVNLDyevE84dPE9eJM1ljsCZCCnlVkWxlfg3zgs2glD6"
    "rzIND6K3oKEmTytG2xtyBqWy3oMOhuLHcz4TxI7LEW+g9mTMh3IET5NN+DEA/4l/MhGMhx"
    "2FPyuCKvAaXxO5FNr6rsBq/2Slw6Js+8rOy7A8BvkhB1XE1RCZZNbzrQC5TxYGWmg+E1F7"
    "g1LZtoroo00S0y/DaBw/4L4IQiG6jEMDBrsnkdcjbqCdOpGOpwF8ad4dyz7XAHxNkCXo1W"
    "1L1FvDousYHt8lpYrucG8Z0xJWtcfffVI+H9YF+dwJnDTQ029HsvSCrwd2PENf6rDJSuNF"
    "C6RHO9baJ0Ofa6eEs9pCrgHKfqINz7uyXA3t/NhZp3Je5rENKtCsghReeO7r8+vBZ80QnM"
    "wDf/OowIyfLvJ1mNltvIfRjhx7VOOktIvTwx0rPYF59DWI0DvcvB+fHw/PQA+PS35vXN0d"
    "FgcDw4Pgi0FaTdmif94RlvmkCse5n7q892iQawSjqVoiTyAGDSn5TUJFO4Fru7M8jlWdo2"
    "u7z5NR7MKKh1jjpJKzndak5Dhyr1/PBZpNIZnxaeAqfKHvk4lXQJ13YJ1wrQJmmlEGuzEJ"
    "OZofnCrLuZobI+Qde4nvGypw7HJfzXZZ3SCbIFvNPrI8cr3COwons+O4lluzPW1wTQtUpZ"
    "b2XYeX7OepZYfQVcq583bqcYmItw4psyH+Rl3vi7ppjmXPjLlgfnN2dnRYkSKf+vopP7NN"
    "41js5HTk90RFg0e3I+IQDys0qiMmJ+VkmsHkKZs/M3V2eRY+s2uscO5UY9mBA7zNsA4sPE"
    "kzB4EMzJOidffyJZZL4FysQmkFkXK8u6iD5cBaATZF1wgC7hjHSYrJIR/MxPD0iQLT9FIC"
    "JJxi7WKTadLb7eKoRJM4kDlQtEL1gOut3Cptl60AtU45ZFuBcDfcHa27LkdntdsWkPvLxl"
    "Y8m3PWjY4b9fU2wEnYr6VJq0exJur5SE2yuQcHtpCccz21wbKWxZBB/SmOcmSKQJZWaZLC"
    "3f9SCeDN2+Ra6XCd22OzAmSznJUk5zjmKmcstWUNG4ZfrXSgIMfYa8Ou1lxBX8ns2icAIM"
    "x7Tm8ti3UmFqQb0x342fe+9TvkWUf+VTFzxsjdxfyl+qCgj7wzuIbiOuNLYiRVkpGPmO+w"
    "iJPNdX0T2fUqWWWYPhz/8DI283Vg=="
)
