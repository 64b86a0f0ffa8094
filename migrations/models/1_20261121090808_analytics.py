from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "jobs" ADD "annotated_expires_at" TIMESTAMPTZ;
        ALTER TABLE "jobs" ADD "annotated_path" VARCHAR(512);
        ALTER TABLE "job_frames" ADD "metrics" JSONB;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "jobs" DROP COLUMN "annotated_expires_at";
        ALTER TABLE "jobs" DROP COLUMN "annotated_path";
        ALTER TABLE "job_frames" DROP COLUMN "metrics";"""


MODELS_STATE = (
    "eJztXG1T2zgQ/isef6IzLUMCFI7e3ExeDM0VCBdCr1N641FiJVGxpdSSgUyv//0k2Y7fQ2"
    "xIcHL+QpuVVpKfRy+72rV/qhYxoEl3/yQD9UT5qWJgQf6fsPitooLpNBAKAQMDU9b7TgZS"
    "AAaU2WDIuGwETAq5yIB0aKMpQwRzKXZMUwjJkFdEeByIHIx+OFBnZAzZBNq84PYfLkbYgI"
    "+Qip+3KnnA0NaRIboa2hAwaOiAqbzerUoZYI4chDM15iWiiemdPkLQNCJP5jYi5TqbTaXs"
    "5qbTPpU1xRAH+pCYjoWD2tMZmxA8r+44yNgVOqJsDPnQRLehRxdP5iHki9yn5AJmO3D+eE"
    "YgMOAIOKYAUP195OChwE2RPYk/B394QwtV0/XLbl+/1vq6rubAe0iw4AphJsD9+cttNwBE"
    "SlXRQetjo7ez//6NhIBQNrZloYRL/SUVAQOuqiQqQPmOP18S59YE2Bp2LIl1hw8D4CFMYO"
    "7rxlDngy6Cty8IAA8mqA+lD9by8Kqdi8aZdqIgC4zhN/y509a6J8o9MiBRl4JdtcCjbkI8"
    "ZhP+s/Z+AQ2fGz3JRM1lgvB15i6+S6+kLosEIQEBwaooQkGgvT4SVF7VgUbOea7+daPdaO"
    "0TxdX+hq963ZZ2fd25PDtRpjYZQko5D99wq3txda71RdUhsaYmZKL2aaNzLkQjgEyv71en"
    "bgpsYKVQ9+d19zJ9lwo0YnQZaMiUfxUTUbYy2oLdauAgkyFMd0W3r7FhCYREyxalP8wwzD"
    "sXjS9xBlrn3WZ8ZxMNNGN0WNBAQJ8CznbqakqnJKpVaBV5B8OKd7KlcY9O+8NafYl5z2tl"
    "TnxZlgJ1nok/V3jWvC8Z0Guf4MKs0xEekVzQR7Qq/IvjTx3LAvYsD/ghlQr54shD2yZ2Ev"
    "c+fGTpuM8VtmFDX4B2X/vSX4y2NfNKzruXZ371OAVRtAFj0JqyFMumgzPwDqvEIOdPsSqT"
    "Zm9VJ+hYjOBdvXZwdHC8//7gmFeRo5xLjhZw0rnsxw1Fm4jZnQLoqUlABqRhpRikI6G1Ml"
    "B3VwXrAsza3ZvmuaZc9bRW57rj7SD+zHULhYgLEJMQ9LTGeQzlEbetIdU9XwKmuLWZ0zdN"
    "tZrG8WnsocQIA2Z+cOdqhYAt2Za8gh3Cc4B1OoVpc3fxTpFQLrhjlAzmFe8YIeAYsmBR0H"
    "3dCvMlMIeUwyVvf73bHTG8BPBtXkPAmmHdZbQRN7G9Rnb9/2wVGf3OhXbdb1xcRey/dqOv"
    "iZJ6lBtPuhO/3po3ovzd6X9UxE/la/dSixvl83r9r6oYE3AY0TF50IERxsQX+6II86F4QE"
    "6+o5ovwPKaLp+XP074AxpdbM68GbghtHuLZSHroVhPTtajmhXrZWE9ZbF7o49ENexirEc1"
    "qx29PCQn1/YIYUQnhWiOqVY8l5nnCeRrcsDP4AJEx3UrpsvMNMCYu+li/80bR0tqbsPV6x"
    "piaQFw8HGKOJcFFllWG9ViK/NiCydLLZvnFNZ5yWyn8tL6RHKTyB8b3aXmNkmsUi51iA3R"
    "GH+Cs0RuTQxRL7nuhsISZTTlxTSQBqvZBg/zjLvIlOIPzx8Zurc3rcZ1q9HWVInxAAzvHo"
    "Bt6Blgu7e8SbSbnt7ppx40QcZNTZDFeCqa2SKwJXakTkKYRdBMFll1Ky4BGIzlI4m+RU9x"
    "vNIzQudYLkwL1QPmnkwOVdt8asgcIqoAbCgWBNSxoQU5CgoZKQRDLgfmjEJDke1+UHZ4H2"
    "/dH7ok542CqOLyplCiAMWGtoMVcg/tBxsxSHfVGORr7DYlyfVWoCQndtCYm7caSn3Nlcba"
    "ROPMaEnq1p4SI/FW8vMyWFcfIfmtXt/fP6rv7b8/Pjw4Ojo83puHSpJFi2Imzc6ZCJtEDm"
    "s/jpKd3hqmLEHD4ohVoLW+SOAGRayE+cgPTmuq5wtrx/TWGdne3KCJMd//klhnJx9FtcqR"
    "cSr626KMUz6eYS5OQipVQlhx5IXdks9xCjQqt2mx2+RbO89zmrw3kjYT0Cd9pmA25fWYVu"
    "kP9OCIszzpkzuI1RSfIFK+0C+w3ZrcDuZVl/QNutwKR5Q63Ab31BWp/sH9Z26pUz6P3iGs"
    "0Amwud3Om7OQORM2uQ0dCvnfe16fKtz+thRgmkl3YKU9Pf2aW6at/52hXFuSW716aS3vS2"
    "sujzkPgIjSas+AdfpZz0E4lJVT+Or5xS+cS3okbMWNM9/0CmVi0CpQuxH8ugdaEYqjmhXL"
    "ZWa5SqTLpHlDU6qWSqSjuYOFIZXK6V3s9Dq0ChU+7faGJlSZ/F6Jeoq/67OR7eeKB1r9d1"
    "Gqb5y8qrsILYBSXljKzmWaK7zMRzVeNw4XyWDar+8tkcHEa2VmMMmy+HcwKH0gfBFPAM2V"
    "M5ZQLPOXZAoiXj88XAJxXisTcVkWexOPd6xjkPbKUjbaEaXtS86r7y0ztXmtbKD3ElMbUZ"
    "0fCug+BegmISYEOGOrDuvFsB5wxVVNa39nWe/e3Ox2zyNWdLMTf8385qKp9XZqEvsg1JkM"
    "K3PgqDOFdro99hTmEdU1wj6XbCzulU+Zvc1ssU9ZvZy1ZaxnvZyVcH2Xyen0Pxr5rIzODe"
    "Q+M5kzetcaD5EWhykemN0WvFbp9DegjYYTNcXt90reLnL8QVCnNJ7//yUn9Jk5iNmO/j20"
    "aernBLKdopBK5Xwu53yKRZUDYa/6FqJbW8rjrC3wOGtJj5P3yCBOsceycwpDKutP8tzwpM"
    "IcdtHLH2a//gNmpHdr"
)
