import { describe, expect, it } from "vitest";
import { expectError, expectStatus, get, post } from "./helpers/api";
import { createDataset, createUser, insertImage } from "./helpers/factories";

/**
 * A search reads one bounded query per candidate set, joined into one statement. SQLite refuses a compound SELECT of
 * more than a few hundred terms (D1 fewer): a user with many sets (the search page's "all datasets" sends every
 * readable set) got a 500. The terms are now nested in groups, so any number of sets is one valid statement.
 */
describe("search over many annotation sets", () => {
  it("answers the global and the dataset search over 60 sets, with tags and classes, as over one", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const img = await insertImage(ds.id, { name: "a.jpg", width: 100, height: 100 });
    const setIds: number[] = [];
    for (let i = 0; i < 60; i++) {
      const set = await expectStatus(
        post(
          "/api/v1/ui/annotation-sets/",
          { dataset_id: ds.id, name: `s${i}`, annotation_task: "Object detection", classes: ["Car"] },
          u.key,
        ),
        201,
      );
      setIds.push(set.id);
    }
    const tagged = setIds[41];
    await expectStatus(
      post(`/api/v1/ui/annotation-sets/${tagged}/images/${img.id}/tags/`, { name: "train" }, u.key),
      201,
    );
    const all = setIds.join(",");
    const global = await expectStatus(get(`/api/v1/ui/search/?sets=${all}&tags=train`, u.key), 200);
    expect(
      global.results.map((r: any) => [r.id, r.annotation_set_id ?? r.annotations?.annotation_set_id]),
    ).toHaveLength(1);
    const contents = await expectStatus(
      get(`/api/v1/ui/datasets/${ds.id}/contents/?sets=${all}&tags=train`, u.key),
      200,
    );
    expect(contents.results.map((r: any) => r.image.name)).toEqual(["a.jpg"]);
    // Image names are bound once per set: within D1's 100 parameters they search, beyond it the answer is a 400.
    const named = await expectStatus(get(`/api/v1/ui/search/?sets=${all}&tags=train&image_name=.JPG`, u.key), 200);
    expect(named.results).toHaveLength(1);
    await expectError(get(`/api/v1/ui/search/?sets=${all}&image_name=a,jpg`, u.key), 400, /fewer names/);
    await expectError(
      get(`/api/v1/ui/datasets/${ds.id}/contents/?sets=${all}&image_name=a,jpg`, u.key),
      400,
      /fewer names/,
    );
    const none = await expectStatus(get(`/api/v1/ui/search/?sets=${all}&tags=nothing-has-this`, u.key), 200);
    expect(none.results).toEqual([]);
  });
});
