import { Link } from 'react-router-dom';
import GoOnAir from '../components/GoOnAir';
import { useSession } from '../session';

export default function HomePage() {
  const { user } = useSession();
  return (
    <>
      <section className="hero">
        <h1>Live audio, straight from the booth</h1>
        <p className="lead">
          Stream a DJ set or a show from your computer, and everyone with the link hears it live, chats along and
          can play it back later.
        </p>
        {user === null && (
          <p className="actions">
            <Link to="/signup" className="button">
              Sign up
            </Link>
            <Link to="/signin" className="button secondary">
              Sign in
            </Link>
          </p>
        )}
      </section>
      {user && <GoOnAir />}
    </>
  );
}
