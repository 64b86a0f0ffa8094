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
        ALTER TABLE "api_keys" ADD "created_by_key_id" UUID;
        ALTER TABLE "api_keys" ADD "scopes" VARCHAR(64) NOT NULL DEFAULT 'read write';
        ALTER TABLE "api_keys" ADD "expires_at" TIMESTAMPTZ;
        ALTER TABLE "users" ADD "token_version" INT NOT NULL DEFAULT 0;
        ALTER TABLE "webhook_attempts" ADD "url" VARCHAR(2048);
        ALTER TABLE "webhook_endpoints" ADD "previous_secret" VARCHAR(100);
        ALTER TABLE "webhook_endpoints" ADD "previous_secret_until" TIMESTAMPTZ;
        ALTER TABLE "api_keys" ADD CONSTRAINT "fk_api_keys_api_keys_66b48baa" FOREIGN KEY ("created_by_key_id") REFERENCES "api_keys" ("id") ON DELETE CASCADE;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "api_keys" DROP CONSTRAINT IF EXISTS "fk_api_keys_api_keys_66b48baa";
        ALTER TABLE "api_keys" DROP COLUMN "created_by_key_id";
        ALTER TABLE "api_keys" DROP COLUMN "scopes";
        ALTER TABLE "api_keys" DROP COLUMN "expires_at";
        ALTER TABLE "users" DROP COLUMN "token_version";
        ALTER TABLE "webhook_attempts" DROP COLUMN "url";
        ALTER TABLE "webhook_endpoints" DROP COLUMN "previous_secret";
        ALTER TABLE "webhook_endpoints" DROP COLUMN "previous_secret_until";
        DROP TABLE IF EXISTS "invites";
        DROP TABLE IF EXISTS "refresh_families";"""


MODELS_STATE = (
    "eJztXetX4zYW/1d08mWZPQw7MMDM0n2cAIFJhwEWQtuzQ49RbIWoOJLrB5DT7f++kmzHb8"
    "d24sQx+tIOkq7l/K50fV+6+qMzoRrSrZ2ugb+iaecI/NEhcILYP2I926ADDSNo5w02HOpi"
    "KDSw8oSmohEOLduEqs3aR1C3EGvSkKWa2LAxJXx0F0ygOsYEAdVEGiI2hjpgFJg8AmgBbF"
    "uAvhBkghdss2GiwVKpgawdcEX0KYAEfPnWPXl/+6W7d3AI6AjYY8Tn1qjKJmfPqW+ae8J+"
    "KNhyiMYo2d/AQuYz+6eF2Cz2O4DZQ2zKJvxB9PLB7MFIH4meMZsRUKIyVKDN3wtyUHb4uz"
    "sE/+4gxaaPiBGa7Bd8/5U1YzbRK7L8P40nZYSRrkU4hTX+ANGu2FNDtN3d9U/PxEiOy1BR"
    "qe5MSDDamNpjSmbDHQdrO5yG9z0iBgu0kRbiIXF03WO33+S+MWuwTQfNXlULGjQ0go7OV0"
    "LnHyOHqPy3AjET/8/+v7xXCw1TlMurgXLbGyhKJ7Fw+CvEmOw1qZTwRYeJzYH640/3uQEg"
    "orXDJzj50r3Z+nj4TkBALfvRFJ0Crs6fghDa0CUVoAcoi/8ncD4ZQzMdZ398DGn2olUw9h"
    "sCkIPd5cPnA1QDpJ0JfFV0RB7tMftz78OHHIx/6t4ImNkogTNl4sCVE5de157bx/EO8DVM"
    "NMKvZRAOKFqI8e5hAYh3DzMR5l1RgJksUsbQGpeBOEyzHJDnC4uVQXy4XwDiw/1MiHlXFG"
    "Ih0ZGmQDsJ8inrsfEEpQMdpYxBrXmkO/4/NnF1sx+o8e+qx/Ic6Af9b73bQffbNZ9uYlm/"
    "6wK/7qDHe/ZE6zTWuhXfCbOHgJ/7gy+A/wn+e3XZi0v+2bjBfzv8naBjU4XQFwVqodXpt/"
    "qoRbiuQ8tWHKsS3+O0S+C898pNYfyGMNrHJJfTJnqmT5X4HKWUXG4yl10roMxnMqBYnSYi"
    "BCp4MbGN6lKk6/5colcDM75V2E5RSrmdmrydfNVmOOVOAqWctZpKvIDxujl8nmuqBggLP0"
    "ZJYMM0y3QGJAFdpYJfHU/uXRk9pVr+AqoktmfURPiRfEVTgXCfvQgkaprN77nS7iy0pK/B"
    "GiANWoP5Tfgyc0dFFhT77ewXI9v9bHZvT7qnvU6OUFgCuIGfciMlwFx4UwVhOs58KQ+h+v"
    "QCTU3JWNP+43y3bRT9Y4/67OsN0oWP8u0AL+CjezQEWwTQZNdkbxJvgQQ+ip/E5+Yz+WA5"
    "GrZ7z0jMlvS1B73buf52Pk5BfGBhn7uFVIfpilMgyI6AxXbXe0wYAdYdJgq3gQEt64WaGl"
    "DHkDzylu51X3iwIWGKJhqOKX3yO3dS/O11TDHfLf69w8xnX/CE3Ci/lvKXH+PHPrFLeMyx"
    "y6TwmvcWeHO9X4/8Fd7/fW/v48dPex8+Hn4+2P/06eDzh89srHjfZNennC/qcf+8fzmIKp"
    "a8Id+PDlVfnhS1rgKKFvp5l29VYaMMuO7oSsA2TKDXjauGbCbIUr6WP95eXaaDGyKJ26hY"
    "tcH/gI6thBhZmoMgCLoNHazbmFg7fNp1xN04RBF71Qd661v3lzgPTi6ujuNaOn/A8UZ721"
    "cq6dvrbA997IuauiES6TnItXQda5WGbjMRnWuJhZZTxP5i84PLu4uLPAOsTtuiT56xeJOE"
    "XeH15NoUWIwpbk4wJHX0nmHhqvmOAVT2ULD1E1MKL5Tb/vnl3fU/3Ye+8xNqwO2X7vsgl8"
    "alCDJm0kyKGqa5J0FjamqOTQUZNfjipSZ4GVMwgWK4TNVpihTLMzE4b0unOkSIZK7DJgVv"
    "mmbhbYi6VSp6sxlKtkxpWZqWXYXlMpFl/ewttKsFo4Zlg7FRKmlLzbOlOFjSnJpvToUWVa"
    "Msqh/psJNiTvHm7Txb6jc6LGZIZYNZJO4RjriGAx/b4DvTWKHtiJdwDK1aSETaJcu2S57Y"
    "70s3SXrEmSSkQTQT26Ntcgik0//WPe8dATxh++me/NQ/7V0dgWesIRq37deTAh/siiosCK"
    "hXmOXHhjpIK7nOO/+56931To+AS31Prm+uTnq3t/3L8yNgmFRFFves3JOTq2/XF70BH6rS"
    "icEFLxt91u1f8CYeuPXmXjvrDGjCSangS0AhYy9Lj71MkIahYkC7lI8lStW+oOPB7l6Bdc"
    "9GZS580ZcCdZmFPyNYaN03DOiVL3Cu1imYjGgp6CNUEv/q+FvOZALNFPMpG/wQiUS+OvLI"
    "NGlKFHCAXjPyo2YEbRDoeV6e3i+DfLRnTp6Lq8tzf3icBVG0oW2jiWGnaDaZ+WhhkvlZac"
    "tSaT7U9QV1s9L2dvc/7X/+eLg/S0abteTloPn5ZuFzxJSv7hRAz3QKMyANE8UgHXGq2kDd"
    "qQvWHMxOr+6OL3rg+qZ30r/texJk5p4UnbyJNbjx5M5Nr3sRQ3nEdGtkKZ4tgVLM2szlm0"
    "Yql3F8GXso2dSGenlwZ2SVgG2YSK5BQngGsGIZKG3t5kuKBHFFidEwmGuWGCHg/PhPFdB9"
    "Wol5AcyRxeAS3l/Pu5OaeT0nWp/xDBnga3KAT4btsz8nLQ7bB7GeklyPUkquN4XrKZvde/"
    "tIVMOsxvUopZTozWFycm+PMMHWuBKbY6SSz03m8xixPTlk3+AKjI7TSk43mdOQEGamc/lb"
    "No6WpGyD63UFsbQAuOrpy1nPkJutyZtNhbrOs8IUx0zxp+UcC4jRtW+j7X3Y/1xgp/FhOf"
    "U8eecmVaVpykZqU1maRuaXzq9LU6ReiutXT6JdplLKj3R4ZsKNtJ4zi6WEN7xXv4NDjJ+R"
    "iRfF62f3eafu42SJmcJJy+4qS89cnq3A3PRlJVjv80+DnrINJXLdLFHGZYKg5ZhowqvT8C"
    "OYlCDWDvWphTQgnvsD2GJzbLt/KII5onK6yzdgUSDSlyJnQeuY5J6YyHQIoGx5iUKKmTVn"
    "vnNQxGoOnuamU1c99SkLzvC+VRScCbMswYb8QGpAtboA9QYFUrlVw7SLiaGUy7aI0a0y4W"
    "JzY3naTAAmsc6tQBOiakYiNJ+vRYnQ7H3UUjwJkcg8xerIczWlnHUZUEjbMt+29LWdxSxL"
    "76DcZgI617AMVlNZs7JO9f8GjRiXx2dwgvXUC52iA3INAdMdqoz4WFzUHLgiyC/9+BeLF3"
    "PEhGvo3sOATZ8Q+wiALjC5G5V/GXSqPlnAHjPt3KQv21w3F/Xy+VVN2AaIaFbCHqhllnuC"
    "uKXpUs/Kx/BnbwMILEflWUjUZGaE5TA7gy0R1TFNZoPoU4CJqjuaf/GT+0LccLX4VU8Ttv"
    "v4gThRtIYfxLq6VJjoU7rnPeUWjOkLn5dNaCN+EZX7zoUrYMpTnWs91SkLoVQBfOMCCPLu"
    "j7fAZZk3l8nmDc2ganRRyabxuK5KKDJOVbmsZDPsiQHXiHPMCbe/kDXhqubFbQlP2Y5o9j"
    "94Cr7v+vdLzVtjaCKmqguLZeqq+Lx4pPsJ5to/mgCo68ny9bXOtIAO/5uNS7k43OFSiy+r"
    "xbt8LPkRiBDJW3Rkgcg3qDHLUoHt5q+0e98Cl6Xdm8lmafdKu1favW/N7hWop9i7Pjey7V"
    "z+g+ov/ymDPusN+kwgLnWOYEbQuqsFPu59KHB8gI3KPD0g+uLlHt2bAktf45AgbHLB1Kon"
    "Ng4OihzYODjIPq/B+2IFZ9jECoFplTmy0Y4QtfFoTJGlzUblHIxJLG1sKfxGw+cUoI8p1R"
    "EkGaI6TBfDesgI61rWvmRZrWw+vrq6iGjRx/14NbW7b8e9m61dgX2QOplMU2XAWY6BzHR9"
    "bB7mEdIVwj5r2VjcZ0fnLMSMxBTDssCpu4C0fdJlt5B02c2RLrtJ6SKiFcozU0FTa/1k5r"
    "sn6GRJtsR6lj6St+gjkTV1Wsb1FIfo7FRewr8w72AoNLDyhKYLHnXsGvgrKnLCsWlLoNDB"
    "0Ph99QvgxJ/U4w/avI9/Iai8azgVJ7Wmahmogks/WwiTf8POQoex27rd0tL2qwOVOC/QZs"
    "iC3KSFAZtlRLURrxdoq2P/mNoCJ/z9x/SIXeiA/2aCtfa6CBsNGyKaQfHCqoOHWs97WptQ"
    "qzMOFtuiKRGx5CbOjo3N5Abjqm0WPlLWBQZjL+ugJoDg4a8Pf3v49wMw+EUIpjinJbqtbW"
    "CPoc1v9Qai6gt4gbw8hE0BL4wH4JA6djLzc5kPvyf35FZcMw4INSeQ/VT2z60HkS2q7bhP"
    "2pl1KQIPxZvr4R1PI0W/O1AHHjyAWZM61lB2XYpZFaDZBXHuwxarTiEDhvLuv3Lwdnq/dE"
    "8GRwC9sp18T667g0Hv5vLI30fxXVfIP1rDJXKzlykeT5yRNBn+yrHbQqHbnMhtHGL2u1Gp"
    "wPiMoH0O/lrCh9ILnY3+Zvoji3ihm11McTMOJ+Sk6jWvluIaIK21lGKtNopr2nXde9E6aT"
    "ZKdES+jeLZneFr1oqdVPsyGFwDkynwyLK54QCBZ/JPRc26F24/qOzFeB9OsUQqPiPVLtBC"
    "3gGmYA5Zu6xXtxH16jxuJTiQCX9AIKvUpYTtSxZ8lnWeS9Z5btD1I01byhuigBY6IaQ5pv"
    "CwKmm3sGfKphiVFFApAoptA9uxGGhaSkpoJrIxKnnRYxJYeZNxlvCp4yZjJmsM9gZIQa8q"
    "Mo2Ur0E28Gm0kgfleeBr/SU9BTEyebAv31sQtq0WdBi0N5a7HXMexNZYA/0HMyZkOxDCfJ"
    "rvQYgG/Iv5ECbIsthb8rgiLzej8etXiVvAcosXlqSOPaSvvILluyPAi9aLkpFEFJ1kjycW"
    "dANlPFiZ6mBY5gT3xDCp5qhIE90iw28bWOy/AI5sZAKVTiaYNZm85DEb9YLtsRhqcRfGw8"
    "R6ZMvhATjExjovfClKbCJeiJOawHR42R3HdYN4zpiC5XS+e+qR8H6wr47vzOGmBhv6veMn"
    "FXirMeQa/1UGStcaKF2hud40Uboae13sUhepEjhHqVoI9+F+AbAP9zOh5l2x0vBCupUBOa"
    "Bo3Snh5cNrwKlOYQq+2ZX3QySrvwphPVpuLaX3g49rlXSWgHp1YqRjsC8+h7AcBzrXvcvT"
    "/uX5EfDo78nt3clJr3faOz3ytRWk3ZOzbv+CN40g1t3M/fVnu4QDWAWdSmESeQAw7k+Ka5"
    "IJXPPd3SnksihWk13e/MYAZhQI66Qss+O0ktON5jS0bKWaHz6NVDrjk8JT4FTaIx+lki7h"
    "yi7hSgHaOK0UYk0WYjIzNFuYtTczVNYnaBvXUzZ74nBczH9d1CkdI1vAO705crxEyfI1XS"
    "nYSiybnbG+IYBuVMp6I8PO83PW08TqEnAtf964mWJgLsKxb8p8kFd5ueiGYppxtyibHlze"
    "XVzkJUok/L+KTh+TeFc4Oh86PdESYVHvyfmYAMjOKgnLiPlZJZF6CEXOzt/dXISOrZvoEV"
    "s2N+rBiJpB3gYQHyaehMGDYFbaOfnqD5L1rBugTGwDmXWxtqyL8MuVADpG1gYH6ArOSAfJ"
    "KinBz+z0gBjZ6lMEQpJk6GDdxsTa4fOtQ5jUkzhQuhLwggWAmy1saqkAbJjoGVPHqlB2OY"
    "W0fRJnFaBXixlnPkTGXZrjik164GVB/xUXltewxX+/ppgIWiX1qSRp+yTcQSEJd5Aj4Q6S"
    "Eo5ntjkmUti0CD4lMc9MkEgSyswyWVq+7UE8Gbp9i1wvErptdmBMlnKSpZzmHMVM5Jatoa"
    "Jxw/SvtQQYugx5ddxJiSt4Pdt54QQYjGnMPZVvpcLUgnpjths/896nbIso+8qnNnjYarkq"
    "kW+qEgh7w1uIbi2uNDajjdJSMLId9yESea6vpHs+oUqtsgbDn/8HkR8Mqg=="
)
