from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "api_keys" (
    "id" UUID NOT NULL PRIMARY KEY,
    "name" VARCHAR(200) NOT NULL,
    "prefix" VARCHAR(16) NOT NULL,
    "key_hash" VARCHAR(64) NOT NULL UNIQUE,
    "created_at" TIMESTAMPTZ NOT NULL,
    "last_used_at" TIMESTAMPTZ,
    "revoked_at" TIMESTAMPTZ,
    "owner_id" UUID NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_api_keys_owner_i_d0be20" ON "api_keys" ("owner_id");
COMMENT ON TABLE "api_keys" IS 'A machine credential acting as its owner. Only an HMAC-SHA256 of the key (under the';
        CREATE TABLE IF NOT EXISTS "audit_events" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "action" VARCHAR(64) NOT NULL,
    "ip" VARCHAR(64),
    "details" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "user_id" UUID REFERENCES "users" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_audit_event_created_be2801" ON "audit_events" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_audit_event_user_id_01dc94" ON "audit_events" ("user_id", "created_at");
COMMENT ON TABLE "audit_events" IS 'A security event: sign-in failures, password changes, API key and webhook changes.';
        CREATE TABLE IF NOT EXISTS "webhook_endpoints" (
    "id" UUID NOT NULL PRIMARY KEY,
    "url" VARCHAR(2048) NOT NULL,
    "description" VARCHAR(200),
    "event_types" JSONB NOT NULL,
    "secret" VARCHAR(100) NOT NULL,
    "is_active" BOOL NOT NULL,
    "disabled_reason" VARCHAR(500),
    "failure_streak" INT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "owner_id" UUID NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_webhook_end_owner_i_268ef5" ON "webhook_endpoints" ("owner_id");
COMMENT ON TABLE "webhook_endpoints" IS 'A URL its owner registered for the event types it lists.';
        CREATE TABLE IF NOT EXISTS "webhook_deliveries" (
    "id" UUID NOT NULL PRIMARY KEY,
    "url" VARCHAR(2048) NOT NULL,
    "event_type" VARCHAR(64) NOT NULL,
    "msg_id" VARCHAR(64) NOT NULL UNIQUE,
    "payload" JSONB NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "attempts" INT NOT NULL,
    "next_attempt_at" TIMESTAMPTZ,
    "locked_until" TIMESTAMPTZ,
    "last_status_code" INT,
    "last_error" TEXT,
    "delivered_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "endpoint_id" UUID REFERENCES "webhook_endpoints" ("id") ON DELETE CASCADE,
    "job_id" UUID REFERENCES "jobs" ("id") ON DELETE SET NULL,
    "owner_id" UUID NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_webhook_del_status_d0f04a" ON "webhook_deliveries" ("status", "next_attempt_at");
CREATE INDEX IF NOT EXISTS "idx_webhook_del_endpoin_a9b3f7" ON "webhook_deliveries" ("endpoint_id", "created_at");
COMMENT ON COLUMN "webhook_deliveries"."status" IS 'PENDING: pending\nSUCCEEDED: succeeded\nFAILED: failed';
COMMENT ON TABLE "webhook_deliveries" IS 'One message to one destination (the outbox row): written in the transaction that';
        CREATE TABLE IF NOT EXISTS "webhook_attempts" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "number" INT NOT NULL,
    "started_at" TIMESTAMPTZ NOT NULL,
    "duration_ms" INT NOT NULL,
    "status_code" INT,
    "error" TEXT,
    "response_excerpt" TEXT,
    "delivery_id" UUID NOT NULL REFERENCES "webhook_deliveries" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_webhook_att_deliver_b8d516" UNIQUE ("delivery_id", "number")
);
COMMENT ON TABLE "webhook_attempts" IS 'One HTTP request of a delivery and what came of it.';
        ALTER TABLE "jobs" ADD "callback_url" VARCHAR(2048);
        ALTER TABLE "users" ADD "callback_secret" VARCHAR(100);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "jobs" DROP COLUMN "callback_url";
        ALTER TABLE "users" DROP COLUMN "callback_secret";
        DROP TABLE IF EXISTS "audit_events";
        DROP TABLE IF EXISTS "webhook_endpoints";
        DROP TABLE IF EXISTS "api_keys";
        DROP TABLE IF EXISTS "webhook_deliveries";
        DROP TABLE IF EXISTS "webhook_attempts";"""


MODELS_STATE = (
    "eJztXelT5DYW/1dU/YnZIuzAADNLtnargWamE66FJkll2DKiraYVbNmx5AEqm/99Jfk+23"
    "ZfbkdfZmhJz8fvSc/v0tMfPdPSkUF3+jb+Eb31jsAfPQJNxP9I9WyDHrTtqF00MPhoyKHQ"
    "xtozepON8JEyB44Zb59AgyLepCM6drDNsEXE6D4w4XiKCQJjB+mIMAwNwCkweQKQAswosF"
    "4IcnbAFTHeACTgy0X/5LvbL/29g0NgTQCbIsBvB7ZcoiNH/BQ31q0xvzO/yJLucU8ocr7x"
    "vyni12TvAKaAMotf/vtwNL8uMiayZ8qvDywy5gBAJp4CivffEU/qEvy7izRmPSFO6PDn/f"
    "pf3oz5nV4RDX7az9oEI0NPMAXr4gKyXWNvtmy7uxuensmRAoVHbWwZrkmi0fYbm1okHO66"
    "WN8RNKLvCXEQIEN6jF3ENQyfs0GT98S8gTkuCh9Vjxp0NIGuIZje++fEJWPxrkDeSfyz/y"
    "//0WLDNO3yaqTdDkaa1svMEfEIKZb6TWOLiPmFCRNA/fGnd90IENnaEzc4+dK/2fpw+E5C"
    "YFH25MhOCVfvT0kIGfRIJegRyvL/DM4nU+jk4xyMTyHNH7QJxkFDBHK0kAL4AoCWAGnPhK"
    "+agcgTm/Kfe+/fl2D8U/9GwsxHSZwtvvI9kXDpd+15fQLvCF/bQRP8WgfhiKKDGO8eVoB4"
    "97AQYdGVBJjLIm0K6bQOxHGaxYA8W1isDOLD/QoQH+4XQiy6khBLiY50DbIsyKe8h2ET5Q"
    "OdpExBrfukO8Efmzi7+Qvq4rvqs7wE+tHwYnA76l9ci9uZlP5uSPz6o4Ho2ZOtb6nWrfRK"
    "CC8Cfh6OvgDxE/x6dTlIS/5w3OjXnngm6DJLI9aLBvXY7AxaA9QSXDcgZZpLG/E9TbsAzv"
    "uP3BbGbwijA0xKOe2gb9ZzIz4nKRWX28xlaQRo9bTqOM0idessW1f5vWyuSQtjZfKcq0hL"
    "qLLYnnGrCT8RbldKhIf8QSC3lHIA9Y3QO4oWpOatAdKoNbq/A19C6y4xofi78zdGzFPW+r"
    "cn/dNBT0L8CMfPL9DRtQTWosfas1It4dhsl7lnplsggU8SHPEa4qED09/VMRt8Q/LBs46B"
    "qHe71DkgxmlIDKzsIOAmtutg9gYk2RGgfLZ8hwknwIbLZ982sCGlL5ajg/EUkifR0r8eSh"
    "scEh28oMepZT0HnTs5/oFl3GK2Yf+1xxWAgNcxRfC/tSz+Y/w0JKyGzY89JsWXjz8R26u/"
    "P4lH+O4fe3sfPnzce//h8NPB/sePB5/ef+Jj5fNmuz6WCLHj4efh5Sj5pREN5Z4AKD0Zdc"
    "yoiKKDlurizShs1wHXG90I2JYpUcvGVUeMCzKaBfeH26vLfHBjJGmlFY8Z+B8wMM2IkUVN"
    "4Zjb8NHFBsOE7ojbrsNzKCBKKLAB0FsX/V/SPDg5vzpOK0biAscb7S9YqaTvrrsg9rGval"
    "3ESOYwLlom7ZZiXLh0lbZFOxGdaVvEplPCtOD3B5d35+frsi1+sB57OUaFaC61Jn6zHqtZ"
    "EcVIVtHS4yZZXE3fBl+5vgGZKx/CtfVmCrwK2S06ZPfM3y9fkxwQ18yIgmTkw6dts8LeG1"
    "70Pw+OADb5eronPw1PB1dH4BvWkZU2btcTcopWRRMWRNSrY0KPD3WRXnOe9/5zN7gbnB4B"
    "j/qeXN9cnQxub4eXn4+A7VhjRCnnwz05ubq4Ph+MxNCxZdpC8PLRZ/3huWgSbgb/3mtnnQ"
    "0daNYyFSIKZSks3FIwkY6hZkNWK3ybpOqeiXywu1dh3vNRhRNf9uVAXWfihwRzzfuWAb3y"
    "CS7UOg2TiVUL+gSVwr85/tQ1Tei81QE/RqKQb448chwrx2YdodcCb35I0AWBXubYGfwyKk"
    "c79OucX11+DoanWZBEGzKGTJvlaDaF0ZM4yewYyqJUmvfL+oJ6MZS93f2P+58+HO6HoZOw"
    "pSxiEkRH4nl7lpjdOYCeGRYsgDROlIJ0IqiWBurOsmAtwez06u74fACubwYnw9uhL0FCj6"
    "TsFE28AXt+mJtB/zyF8oTr1ohqvi2BcszawumbR6qmcXoa+ygxi0GjPrghWSNgWyaSlyAh"
    "fANYozbKm7vlkiJD3FBitAzmJUuMGHBBCKgJ6AGtwrwC5ohyuKT31/fu5OYJlEf2iq6hcg"
    "bbnDO4WZFclfk9m+2VQrlRrKcm15OUiutt4XrOYvefPhHVcJpxPUmpJHp7mJxd2xNMMJ02"
    "YnOKVPG5zXyeIr4mH/k3uAGj07SK023mNCSEm+lC/taNo2Upu+B6XUEsLQIOvdqY87LBIi"
    "u6hlpsbV5sY2gYIitMc50cf1rxUkvTdW+h7b3f/1Rp+/z+p5L986IzudbavW2tLQupS/vW"
    "WplcOs/GtbQ7Pov2sU939uMNMmCBbyzKGz1z4EZaz0VgJxa8v9tMQIy/IQfPi9fP3vVOvc"
    "u9bZ6cLURtyUnL3izLz1wOZ2Bp+rIWzffZWyFP+YKSuW5Ubjo0EaSug0yxl1JUKbII4u3Q"
    "eKNIB/K634Mtfo9t74cmmSMrFXl8A9QCMn0psRlyGTe5Jw5yXAIsPr1eHMyKd0h+FaDI2R"
    "xdzUunbloQSW2PFH2r2B4ZZ1mGDeWB1IhqdQHqDQqkCquGaxemrdXLtkjRrTLhYnNjeXoo"
    "ALNYl+6XjFG1IxFa3K9DidD8eca1eBIjUXmKzZEXako96zKiULZluW0ZaDvzWZb+RrnNBH"
    "SmYRnNpjbVQ7lBE87l6ch6RqSXYwIk+kvNAMcbyfVgPrSiKXDF1XBMqcuVcJ8cSPLvvf9C"
    "VT0oZEKn0OGKO7+ciY03oZQ7yKUIeOWpqKhZagJoGNniKEu90xzFT39juJZI8oarvZR191"
    "J6fKz5AUgQqbJYqWSxxhGRhcdBWvpJ6EQgpGFhSFUTckP4q2pC/hW4rPI7C9m8oZl+rS7V"
    "0zYed6BWT0shbVysZ812r0Q9x94NuFFs54oXWn65HlV6Z63mIjIhrpX3ExJ07piBD3tVTs"
    "vgowqzfWRfujyLV4e29okOGcI2FzhqmmF1cFAlwergoDi/SvSlNojyG2t1D4FJEHUxlW0J"
    "B8Fgqol6ud9ygD62LANBUiCq43QprB854bKmdSBZViubj6+uzhNa9PEwXf3g7uJ4cLO1K7"
    "GPQp3ZsDIHjro2cvL1sVmYJ0hXCHvYsrG4h6mu3uFhdeRKDmn3pMtuJemyWyJddrPSRRny"
    "xeh32JBXGzU7xvUcr12Y6pkxgmdlG8fPqmyePxudirlhU6BStnH6yI45cEocErJZX6hKUA"
    "X1iOdKXe/qPMqmOTSHKZ1c0UW8XiAbT4MMtTmS+4PLDAirlNu/mWCtfUvERsOGiG5beG4B"
    "76M28K/WJdSW6VJPLdEc53p2ERe72UO5wbnKgpVQ5Zwtm7OXd1gOgODhbw9/f/j3A7BFDU"
    "SHiCQv2U23AZtCFp2ZDV6g2BnCLCD2xAP4aLks74StxV38ntyTW3nUNiCWY0L+qvzPrQeZ"
    "eKbveFfaCbs0iYfm3+vhnchIQ7+70AA+PIDr/AbWUfGWlHADYFgb3rvYfBtTVOxBlf2vB2"
    "9v8Ev/ZHQE0Ctfyffkuj8aDW4uj4J1lF51lVwtS6gfHz5M9dBESNJm+BuHgSpFgUqCQGmI"
    "+XujWjG2kKB7vsKlRCKUr7AY/c30GlXxFba7jsJm5DlvVBkFdfxvDRvFM+36Xkn0Xp6Nkh"
    "xRbqP4dme8wnq1TS9fRqNr4HAFHlEmDAcIfJPfP4hX2A9j/mCiD+dYIg2vkWsX6DHvAFcw"
    "H3m72qq+EVvVfW5lOFAIf0SgNqjnRLRbVBmzbVBviIJUKRledx3pAdTyDggrXDspKrWA8h"
    "cQcykHTc/JfipENkWlziDIAqsO2SkSPss4ZIfLGps/AdLQ6xg5ds7XoBj4PFrFg/o8CLTS"
    "mpZsikztYSm3ZuO6/5wGbXdjjdsp4zY1x1po34ZMKDZw43yabeEmA9LVbFwTUcqfUsS9RG"
    "UFXZwMQqQKBba49Qkslz1ar8CxXt4dAVFPjSECMBGlFTjskFDoBXJEMC3XAF7kDe6J7Vi6"
    "O0a67JZ5QtuA8n8BnDDkiPNuTcybHFGNh496wWwqh1JhYj+Y9IlPhwfgEoYNbm4D6o7HCO"
    "n0nlgOcFxRYcL1zHTfWVCxckT8bG7CvzqBsyE8ujsIeuec7K0CeWsN5NUsHTxPxeC2idLV"
    "lAyWq9RDqgbOSaoOwn24XwHsw/1CqEVXqmqZlG51QI4oOrchbvHw2vDNsGAOvmWnlYckq6"
    "/Stx4tdznnBocf1ybpFhH16sRIz+ZffAFhPQ70rgeXp8PLz0fAp78nt3cnJ4PB6eD0KNBW"
    "kH5PzvrDc9E0gdhAelrxWk82hjr1dsH+pLQmmcG13N2dQ67qv7TZ5W1YY1GqR1ondZmdpl"
    "WcbjWnIWVaMz98HqlyxmeFp8Sptkc+SaVcwo1dwo0CtGlaJcTaLMRU5mKxMOtu5qLa5dw1"
    "rucs9szmrZT/uqpTOkU2h3d6c+R4jeq8a6p230ks251RvSGAblRKdSvDzrNzqvPE6gJwrb"
    "8ftp1iYCbCqW/KbJBXee7FhmJacOwFvz24vDs/r3acYuBqNKynLN4NtnbHsvs7IiyWu7M7"
    "JQCKs0riMmJ2Vkliv36Vvd13N+exbdUOesKUCaMeTCwnytsA8sMkkjBEEIzm7eNufiFVur"
    "UFysQ2UFkXa8u6iD9cDaBTZF1wgK5gD2+UrFLrzLgUmTrIr9wZ3SRxoHbRyzlrXbZb2Cyl"
    "2KUqpbvikq46puL9dc1BkNYU71nS7on4g0qz/KBklh9kZ7lItHEdpPHbIvicxbz4zOEMoU"
    "p0yRQpVpGkjsUUVCTpr8j1KpGkdvvpVeUTVflkxs6wTKrLGgqAtkz/Wou/s8+RH097OW5O"
    "v2e7zLsJozGtOSHqr1KQZU69sdiryFcPrenwipF00OBfyiFFYlHVQNgf3kF0l3N2iEUYyo"
    "sIF/sRYyRqm1FNb2FGlVrllvA//w/sZprN"
)
