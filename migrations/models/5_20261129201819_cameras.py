from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "camera_runners" (
    "id" VARCHAR(128) NOT NULL PRIMARY KEY,
    "hostname" VARCHAR(255) NOT NULL,
    "pid" INT NOT NULL,
    "capacity" INT NOT NULL,
    "cameras" INT NOT NULL,
    "version" VARCHAR(32) NOT NULL,
    "started_at" TIMESTAMPTZ NOT NULL,
    "heartbeat_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "camera_runners" IS 'A `python -m worker.cameras` process, by its heartbeat.';
        CREATE TABLE IF NOT EXISTS "cameras" (
    "id" UUID NOT NULL PRIMARY KEY,
    "camera_id" VARCHAR(64) NOT NULL,
    "name" VARCHAR(200),
    "stream_url" VARCHAR(2048) NOT NULL,
    "credentials_enc" TEXT,
    "params" JSONB NOT NULL,
    "desired_state" VARCHAR(16) NOT NULL,
    "state" VARCHAR(16) NOT NULL,
    "state_since" TIMESTAMPTZ NOT NULL,
    "last_error" TEXT,
    "runner_id" VARCHAR(128),
    "lease_until" TIMESTAMPTZ,
    "generation" INT NOT NULL,
    "started_at" TIMESTAMPTZ,
    "last_frame_at" TIMESTAMPTZ,
    "runtime" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "owner_id" UUID NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_cameras_owner_i_65f785" UNIQUE ("owner_id", "camera_id")
);
CREATE INDEX IF NOT EXISTS "idx_cameras_desired_52d758" ON "cameras" ("desired_state", "lease_until");
COMMENT ON COLUMN "cameras"."desired_state" IS 'ACTIVE: active\nINACTIVE: inactive';
COMMENT ON COLUMN "cameras"."state" IS 'PENDING: pending\nSTARTING: starting\nONLINE: online\nDEGRADED: degraded\nRECONNECTING: reconnecting\nOFFLINE: offline\nSTOPPED: stopped\nERROR: error';
COMMENT ON TABLE "cameras" IS 'A camera its owner registered: what to analyse (desired state, source, parameters) and';
        CREATE TABLE IF NOT EXISTS "camera_events" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "event_id" UUID NOT NULL UNIQUE,
    "camera_uuid" UUID NOT NULL,
    "camera_id" VARCHAR(64) NOT NULL,
    "type" VARCHAR(32) NOT NULL,
    "plate" VARCHAR(32),
    "timestamp" TIMESTAMPTZ NOT NULL,
    "generation" INT NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "owner_id" UUID NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_camera_even_owner_i_8fa7aa" ON "camera_events" ("owner_id", "timestamp");
CREATE INDEX IF NOT EXISTS "idx_camera_even_owner_i_e28825" ON "camera_events" ("owner_id", "plate");
CREATE INDEX IF NOT EXISTS "idx_camera_even_owner_i_bd8b2f" ON "camera_events" ("owner_id", "camera_id");
COMMENT ON COLUMN "camera_events"."type" IS 'ANPR: anpr\nWATCHLIST_MATCH: watchlist_match\nSTATUS: status';
COMMENT ON TABLE "camera_events" IS 'A camera event kept for search (plate reads, watchlist matches, state changes): who';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "cameras";
        DROP TABLE IF EXISTS "camera_events";
        DROP TABLE IF EXISTS "camera_runners";"""


MODELS_STATE = (
    "eJztXWtX27jW/ita+XLoWSmnpUD7Mu9lBQg0pzRwQpiZdcosI2KFeHAkjy+krDnz319t2Y"
    "7vjp3EiePqywyVtSXn2fLWvmnrz9aUqUS39juG9oW8tk7Qny2Kp4T/EXvSRi1sGEE7NNj4"
    "URddsaEpz+RVNOJHyzbxyObtY6xbhDepxBqZmmFrjELvDpri0USjBI1MohJqa1hHnEKjTw"
    "hbSLMtxGaUmGim2bybaLBGzCDWPrqm+ivCFH3+2jl7e/u5c3B0jNgY2RMCc6tsxCfn41Q3"
    "zT3lPxTtOVTllPzfyCLmC//TInwW+w3S+CA24xP+JJ5CZz4w0cfiyYTPiBgdcVSwDe+FAZ"
    "R9eHeHan84RLHZE+GEJv8F337jzRqf6Dux/H8az8pYI7oa4ZSmwgCiXbFfDdF2d9c7vxA9"
    "AZdHZcR0Z0qD3sarPWF03t1xNHUfaODZE+GwYJuoIR5SR9c9dvtN7hvzBtt0yPxV1aBBJW"
    "Ps6LASWv89dugIfisSM8F/Dv/Xe7VQN0XpXw+V2+5QUVqJhQOvEGOy1zRiFBadRm0A6s+/"
    "3HEDQERrCyY4+9wZ7H04fiMgYJb9ZIqHAq7WX4IQ29glFaAHKIv/J3A+m2AzHWe/fwxp/q"
    "LLYOw3BCAHX5cPnw9QBZC2pvi7ohP6ZE/4Pw/evcvB+OfOQMDMewmcGRcHrpzoe48O3GeA"
    "d4CvYZKx9r0MwgFFAzF+f1wA4vfHmQjDoyjAXBYpE2xNykAcplkPyIuFxcYgPj4sAPHxYS"
    "bE8CgKsZDoRFWwnQT5nD+xtSlJBzpKGYNa9Uj3/T92cXXzH6jCvuqxPAf6Ye9r93bY+XoD"
    "000t6w9d4NcZduHJgWh9jbXuxb+E+SDol97wM4J/on9f97txyT/vN/x3C94JOzZTKJspWA"
    "2tTr/VRy3CdR1btuJYS/E9TrsGznuvXBfG7wijfUxyOW2SF/a8FJ+jlJLLdeayawWU2SYD"
    "is1pIkKgopmp2aQqRbrq7ZJ8NzTOtyU+pyil/Jzq/Dn5qs3jKzgJlHLWairxCsbr7vB5oa"
    "kaICz8GCWBDdOs0xmQBHSTCv7yeIJ3ZfycavkLqJLYXjCTaE/0C3kVCPf4i2A6SrP5PVfa"
    "nUXWtBtsAdKgNZjfxLO5OyqyoPhv57+Y2O622bk965x3WzlCYQ3gBn7KnZQAC+FNFYTpOM"
    "NSfsSj5xk2VSVjTfvD+W7bKPqnHvXFlwHRhY/yxwFewMcOWAi2CKDJR9ODabwFU/wkfhLM"
    "DTP5YDmqZndfiJgt6WsPnrZz/e3QTyHQsbDP3SIjh+uKr0iQnSCLf11vNcoJNN3horCNDG"
    "xZM2aqaDTB9AlaOjc94cHGlCua5HHC2LP/cD/F317FFIvd4t9a3Hz2BU/IjfJbKX/5qfbU"
    "o3YJj7nmMim85r0FXl/v1xO8wtv/Ojj48OHjwbsPx5+ODj9+PPr07hPvK943+ehjzo562r"
    "vs9YdRxRIa8v3oeOTLk6LWVUDRQD/v+q0qzSgDrtt7KWBrJtCrxlUlNhdkKbvlP2+v++ng"
    "hkjiNqo2stF/kK5ZCTGyNgdBEHR7dDTd1qi1D9NuI+4GEEXsVR/ova+dX+M8OLu6Po1r6T"
    "DA6U572zcq6ZvrbA9t9kVN3RCJ9BzkWrqOtUlDt56ILrTEQsspYn/x+VH/7uoqzwCr0rY4"
    "40w0cSvFrvCe5NoUI9GnsDnhdg9l0Zjkie9lxCTqCZpNsI1sxpV6rL9aBO1xco0/QXzh2H"
    "w4izkm5MAY2OTDcCLrDRgAKSZFFdPcU0EIY5oOhUEhCMdHNpjJ1yra88h1guG3e4uY//I2"
    "GmtPYMi8yTJNvgW+IvfNYZ38ljBYvPdUxEQtoXzzqRSH2ppe0m6ReT7rzvMJGFdCi44QSS"
    "ulgDa90XSqmu00G8im4tMRPFUcUy8Vx4xQNXAdH7w7/FQI7MNPOWjDw4Qp4qWYWgqhoyTm"
    "Q/I9w7uUQtqENZ5ncnR/HeYbg3OL4+q6f+l3j1uIsfRB2ORLGecBxeZt8+0AX4kVnlBmks"
    "KmS51pwnSIOUpig2wwjwLciy9lcyhanbNh7+fuCXKp72mv77doNDTi1rM+V2LLNthhEKoC"
    "YCX5cdPtn/f6lyfIo7+nt8POYCia+M8wbdF23b/q9TmPGNU1yrl23r0cdM675ydIJU8mVg"
    "m3Dgbds+t+v3vm0pqEM4ySkUd/ceENMB67I9wOr29uYADLZoYB9N3B4HpwgohpMrNGa0Cx"
    "NI/FZTxlMVKZmLpLvjKRXDpfh0UVkiiV1EXK6yKuW6GkCRkhagLqMal2UETx5r2y5dpBQu"
    "0O+01KCrYYqUwhrHMKYeCDS7I5M2wfJVocvl/XXvWuqu/JDd8fvD/8ePjpw/HhPGo/b8kL"
    "1vuB+YhWYC4XPotSyk+nzp+O2M3H4ABf9nRKmFjyus68NmE7S3OrZjtBQiQyQ2HtvpHdyl"
    "CQZtd6zC7HUJfkepRScr0uXE+Rvt7b78ohjLrsqU06hVHL7JTFxzC2mZ2SmfoeftxenKdS"
    "MvndSyMRROiZGDYaM6jZgs3RBO0ZOl8GCCST1UYzbI8moPSgKfwFOerCB+pnpb+BvBMW9+"
    "tWMcc9hXR5ovK/NT6EN/5sQug+4kCZXp59GwrNWARpdKQ7KlHbUGmGa1RQfmZAVP6PWxHV"
    "haI3M8KX1j0NVa/hg6IHMQ5fMw+FU+7Dqwy2Iv76U6PFu0UfiV+dbI7lxsgk/dol6fsros"
    "xmFqbZbNpRLbeyiB3gLniAoQyiMTKpIaTDKlO1qk3VEuikIrw4guzT1hnoVqd/MzhBmBrm"
    "Pf2lMzz7fNW7HSpf4a+TYLNWxGYt4srDu1sRVbYdK64JFGHRh4MCLPpwkMkieBTLftEzo/"
    "wZyS8+QfMiTetHN9BwEgjn2/MRwgaa87trvu94jKl6BXRtYSYDv+oMp2zReZl5cxKZmifd"
    "z9IRWcr9LB2R0hEpHZELHJEDkW3VyvREes/bBVyRbuJWYV/kg7sa0NspmjHzmZj73tG7B2"
    "SYbEQsq40eRdVoNCHYtB+5JE6rtrH0OGuuNJ1TWmCNJnaNysauMZMt2wE34SKp7BGpME2d"
    "7e1lz+4cHRU5unN0lH1yB57FtNO0JZ2p7htFvcy7AO6a9fwRNvBIs1NqeWXCGSaRmKZiOj"
    "+UXRjSOYXMeIzD+cK36ZK1h0IkDRSp63eV1SiptHbQN9fknCuYS/A9TttAzu8IpzPdpAlj"
    "eDuWW4++aMKETNhs3pN2nrWmiT7F6yVyhurkrWMRt46hY6ARHxTt/dy77F0pt73L/t3N/7"
    "iDvvFvDEK3nztvg8uCXIrgSqAUK66Kae5p0Jh695DNBBkz4CNiJiSboCkW3eVdRHXxQLVz"
    "rEPgbem7XCJEjbPKG12dXm5o1Zenl0GSH0ljXfK6HnlTz/bZW+irFox6LHvbRJRKFotcVC"
    "wSwNpcJKyeoBapFxlaVLUqGflP9thKMaeguZ1nS/3OHosZUtlgls0yD1d2h3zyIPsudGhK"
    "1k7crl3yrNGMCOHiTFGfts5u1lbva+cSSjxN+fd0T3/unXevT9CLppLEiZBCkcRKKv04GV"
    "eXFSv35Gz6GjPe1SFqyXXe+tdd9w6qLrnU9/RmcH3Wvb11K0C54W9RsOns+uvNVXcIXUds"
    "aoDg5b0vOr0raIKbKUii7ux2WLdbBewaf3R7SlQNKwa2S/lYolTNy60+el8kYsR7ZS588S"
    "wF6jILf06w0rqvGdAbX+Cg1ikaHbNS0EeoJP7L42850yk2U8ynbPBDJBL55ZEvXRFPFsNb"
    "oRgetm0yNewySSxhEpnFkjhQYTJY3SmAXugMZ2WuhYhikI6BqjJQ96uCNQez8+u706suuh"
    "l0z3q3PU+CzN2T4iE08QY3ntwadDtXMZRF1StL8WwJUiZLMI1ULuP4MvZQspmNU4o3LgJ3"
    "TrYUsDUTyRVICM8AViyDpK3dfEmRIF5SYtQM5oolRgi49CpsxUDPKMcmMU/DnFgcLuH99b"
    "w7qemdC6L1GWPIAF+dA3wybJ+9nTQ4bC9L6zWM6ykfe6K0Xo2SyqVEr0yijzWqWZOl2Bwj"
    "lXyuM59rdlhAcroyTmNKmS123bJxtCRlE1yvG4ilBcAtn76cNYb82Or8sY2wrkNWWNk7H+"
    "N0zfvQqrr0URZakYVWapBfukqhlbg7Pon2qUd38WVA9KxKZ0He6IWJd9J6zgI78sHPyOOE"
    "sWeAWHshprYqXr+44527w73unpzNRK3ipGV3laVnLs9XYG76shKs98WnQc/5ByVy3Sy4Px"
    "5NCbYck0yhAjkcwWSU+HfQq0iM+xPa43O03X8ogjlv4BCmyzdkMSTSlyJnQauY5J6axHQo"
    "Ynx5zUw4/pp9c/3vbtJ3aLTEzfWlsqtlsW54toli3WGWJdiQH0gNqGT9lZRA6rx+q1Iu2y"
    "JGt8mEi92N5alzAZjEOjsnLkpVj0RomK9BidD8fUaleBIikXmKyyMPako56zKgkLZlvm3p"
    "azurWZbeQbndBHShYRmspjrV7xyQMefy5AJPNRHrTNgA0Q65hoDpdlXG0Fcrag5cU69Yi0"
    "b/ZsGdPRoFDd0bDNnsmfBNAHWQCW5U2Bl0Nnq2kD3h2rnJZm3QzU3ywp45l5BmI0LVxD0C"
    "1cxyT4m4OUhQz8vHwNhthJHljCALiZncjLAcbmfwJTJyTJPbIPrr/IKhnwIiBIYrt1dsNO"
    "VfHxyIE0Vr4CDWdV/hok/pXHaVWzRhM5iXT2jzafm7iHfOtkZktZk6neqUhVCWAXznAghC"
    "ViwVfo9SyjBRnbks8+Yy2byjGVQFy92UjVSFSKQxsbASioxTFamDUsf7ADxzYQgacY454T"
    "4vZE24qnlxW8JTtiOa/U+egu+7/j1LAFkTbBKuqguL5dVV8aF4pLsFg/ZPpgjrevLGgEpn"
    "WkGH/93WSrk43O5Siy+rxbt8LLkJRIiq3QZ271ZPaRf9EBqzLBXYbP5Ku/dH4LK0ezPZLO"
    "1eafdKu/dHs3sF6in2rs+NbDsXflD15T9l0Ge7QZ8p1kqdI5gTNO5qgQ8H7wocH+C9cu5J"
    "epcs92hZM8Y/4rLXOCQI61wwddkTG1Vc9TfmEytl71SMEDXxaEyRpc175RyMSSxtzVL4pq"
    "C9pAB9yphOMM0Q1WG6GNaPnLCqZe1Lls3K5tPr66uIFn3ai1dTu/t62h3svRfYB6mTyTRV"
    "DpzlGMRM18cWYR4h3SDs85adxX1+dM4i3EhMMSwLnLoLSJsnXd4Xki7vc6TL+6R0MUzyoj"
    "HHUlZAP28MyYaV2KA41E5THPN9LItHk961OnvXRAhRybxfNfMQSoJO1klMbDLScfkjOi5l"
    "oauGcT1Fjs6Pyha8XDVU5sPQlGfyuuL5446hfSFFjh3XbQkUOq2NHVWzFfICJ2hXxAlG6s"
    "JAO6tl5EOVec98GZTOxCBNXU0uRGtZTi5QRdfTTqLlXbasOKmVs8uAFVzt3MDvzr9HbXl4"
    "mnUCLZaXkTyctTxQiVNhTYYsyEBdGbB53msT8ZphezTxDyMvD9Uv/jBdahcq47KbYG29+s"
    "1Ow0aoajBtZeXBQ63rjdYk1KrMdoh9oil5D8mPODsDYi43OFdts/DB4Q4yOHv5A2YijB7+"
    "/vCPh/97QAZcd2OK07jisdVG9gTbSIPCP1DbC80wFAGyGYLypwg/MsdO5vevc/B7ek9vbW"
    "YSFVFmTjH/qfzPvQdxJkDdd0fanz9SBB6KN9fDGzgsQP5wsI48eNCI6bqmkuzqQ/Nab/Nr"
    "QN3BVqtBJNNC5A2v5eBtdX/tnA1PEPnOv+R7etMZDruD/on/HcW/ukLhlwquCp2/TPGskT"
    "lJneFfOkOnUIJOTn5OHGL+u0mp9Kc5QfPih5UkiciwRjb6u+ngLhLWqHfJ3N04gpaTkF2/"
    "irlbgLTSgrmV2iiuaddxb79spdko0R75Nopnd4Yv0yx2HvnzcHiDTK7AE8sGwwEjz+R/FZ"
    "VJZ2A/gDscnmkplsiSY6TaBWrIO8AVzEfeLquSFstA2HJVUo9bCQ5kwh8QyFqkKXkgJcv6"
    "y2r+Jav51+iSqbot5R1RQAtlqqmOKTysyrTMjdQxKimgUgQU/wxsyODkqkgJZGNU8jrfJL"
    "Dyvvos4VPFffVc1hj8DYhCvo+IaaTsBtnAp9FKHpTnga/1l/QUxMjk8e18b0HYtlrRYdDc"
    "WG475jyIrbEa+g/mTMh2IIT5tNiDEA34F/MhTIll8beEuCIUFVPhkm3qlineg/LBzLEf2X"
    "eoU/zmBMHVJKIwMBWlhfnw1MJuoAyClakOhnVOcE8Nk6nOiKjiscjxayOL/xfhsU1MNGLT"
    "qcabTChsz3vNNHsiulrgwniYWk98OTwgcVgFyhuLQsoEyi0zE5kOFFdzXDeI54wpWDTtm6"
    "ceCe8H33V8Zw6YGrzrt5afVOCtxpBr/DcZKN1qoHSD5nrdROlm7HXxlbpIlcA5StVAuI8P"
    "C4B9fJgJNTyKXQAipFsZkAOKxtWCWD+8Bn7VGU7BN/t+lRDJ5i+82Y6WW8kFK8Hmukw6S0"
    "C9OTHSMviODxCW40Drpts/7/UvT5BHf09v787Out3z7vmJr60Q9Z5edHpX0DTGmu5m7m8/"
    "2yUcwCroVAqTyBOlcX9SXJNM4Jrv7k4hl4ez6+zyhnthuFGw1MH8OK3kdK05jS1bWc4Pn0"
    "YqnfFJ4SlwKu2Rj1JJl/DSLuGlArRxWinE6izEZGZotjBrbmaoLHjRNK6nfOyJw3Ex/3VR"
    "p3SMbAXv9O7I8RIXU2zp4thGYlnvjPUdAXSnUtZrGXZenLOeJlbXgGv588b1FAMLEY7tKY"
    "tB3uQV0juKacYN0nx61L+7uspLlEj4fxWdPSXxXuLofOj0REOERbUn52MCIDurJCwjFmeV"
    "ROohFDk7fze4Ch1bN8mTZtlg1KMxM4O8DSQ2JkjCgCCYlXZOfvmB5K0FNVAm2khmXWwt6y"
    "L8ciWAjpE1wQG6gTPSQbJKSvAzOz0gRrb5FIGQJHl0NN3WqLUP821DmFSTOFC64viK9cXr"
    "LWyqLTC+Qnl3WdV9NdBXLOYua7jX1xWb9MDLa1s2fH2Iqlnw+1XFJNgqqU8lSZsn4Y4KSb"
    "ijHAl3lJRwkNnmmETh0xL8nMQ8M0EiSSgzy+RdBU0P4snQ7Y/I9SKh23oHxmQpJ1nKacFR"
    "zERu2RYqGtdM/9pKgKHDkR9NWilxBe9JOy+cgIM+tbmN+EepMLWi3pjtxs+8SCzbIsq+Q6"
    "wJHrZKLsSFj6oEwl73BqJbiSuNz2iTtBSMbMd9iESe6yvpnk+oUpuswfDX/wNNGxQl"
)
