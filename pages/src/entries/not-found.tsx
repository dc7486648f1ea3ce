import { Layout, mount } from "../lib/layout";

/** The page for a path that names nothing the caller may see: the same 404 as the API gives. */
mount(
  <Layout>
    <div class="not-found panel">
      <h1>Not found</h1>
      <p class="muted">This page does not exist, or what it shows is not yours to see.</p>
      <p>
        <a href="/datasets">Back to your datasets</a>
      </p>
    </div>
  </Layout>,
);
